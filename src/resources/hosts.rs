//! Hosts: the machines of an inventory.

use crate::resource::{
    Access, Change, Column, Create, Default, Deletion, Field, Link, NamedUrl, Read, Resource,
    Storage,
};

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    // AWX makes the inventory read-only once the host exists.
    Field::fk("inventory", "Inventory", "inventory", "inventory_id")
        .required()
        .create_only(),
    Field::boolean("enabled", "Enabled")
        .default(Default::Bool(true))
        .help("Is this host online and available for running jobs?"),
    Field::string("instance_id", "Instance id", 1024)
        .help("The value used by the remote inventory source to uniquely identify the host"),
    Field::vars("variables", "Variables").help("Host variables in JSON or YAML format."),
    Field::boolean("has_active_failures", "Has active failures")
        .read_only()
        .unfilterable()
        .column(Column::Computed("{o}.last_job_failed")),
    Field::boolean("has_inventory_sources", "Has inventory sources")
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "SELECT EXISTS (SELECT 1 FROM host_inventory_sources hs WHERE hs.host_id = {o}.id)",
        )),
    Field::fk("last_job", "Last job", "job", "last_job_id")
        .read_only()
        .nullable(),
    Field::fk(
        "last_job_host_summary",
        "Last job host summary",
        "job_host_summary",
        "last_job_host_summary_id",
    )
    .read_only()
    .nullable(),
    Field::datetime("ansible_facts_modified", "Ansible facts modified")
        .help("The date and time ansible_facts was last modified."),
];

/// `/api/v2/hosts/`.
pub const HOST: Resource = Resource {
    type_name: "host",
    path: "hosts",
    display: "Host",
    storage: Storage::Table("hosts"),
    fields: FIELDS,
    ordering: &["name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("inventory"),
        Link::Fk("last_job"),
        Link::Fk("last_job_host_summary"),
        Link::Sub("variable_data"),
        Link::Sub("groups"),
        Link::Sub("all_groups"),
        Link::Sub("job_events"),
        Link::Sub("job_host_summaries"),
        Link::Sub("activity_stream"),
        Link::Sub("inventory_sources"),
        Link::Sub("smart_inventories"),
        Link::Sub("ad_hoc_commands"),
        Link::Sub("ad_hoc_command_events"),
        Link::Sub("ansible_facts"),
    ],
    summary: &["id", "name", "description"],
    roles: &[],
    access: Access {
        read: Read::ViaFk("inventory", "read_role"),
        change: Change::ViaFk("inventory", "admin_role"),
        create: Create::FkRole("inventory", "admin_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("inventory"),
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
