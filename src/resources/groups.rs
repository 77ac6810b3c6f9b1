//! Groups: named sets of an inventory's hosts and of other groups.

use crate::resource::{
    Access, Change, Create, Deletion, Field, Link, NamedUrl, Read, Resource, Storage,
};

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    // AWX makes the inventory read-only once the group exists.
    Field::fk("inventory", "Inventory", "inventory", "inventory_id")
        .required()
        .create_only(),
    Field::vars("variables", "Variables").help("Group variables in JSON or YAML format."),
];

/// `/api/v2/groups/`.
pub const GROUP: Resource = Resource {
    type_name: "group",
    path: "groups",
    display: "Group",
    storage: Storage::Table("groups"),
    fields: FIELDS,
    ordering: &["name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("inventory"),
        Link::Sub("variable_data"),
        Link::Sub("hosts"),
        Link::Sub("potential_children"),
        Link::Sub("children"),
        Link::Sub("all_hosts"),
        Link::Sub("job_events"),
        Link::Sub("job_host_summaries"),
        Link::Sub("activity_stream"),
        Link::Sub("inventory_sources"),
        Link::Sub("ad_hoc_commands"),
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
