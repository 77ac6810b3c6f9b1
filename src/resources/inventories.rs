//! Inventories: hosts and groups jobs run against (plain, smart or
//! constructed).

use crate::resource::{
    Access, Change, Column, CopyPart, Copying, Create, Default, Deletion, Field, Link, NamedUrl,
    Read, Resource, RoleDecl, RoleRef, Storage,
};

/// AWX's `Inventory.KIND_CHOICES`.
const KINDS: &[(&str, &str)] = &[
    ("", "Hosts have a direct link to this inventory."),
    (
        "smart",
        "Hosts for inventory generated using the host_filter property.",
    ),
    (
        "constructed",
        "Parse list of source inventories with the constructed inventory plugin.",
    ),
];

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    Field::fk(
        "organization",
        "Organization",
        "organization",
        "organization_id",
    )
    .required()
    .help("Organization containing this inventory."),
    Field::choice("kind", "Kind", KINDS)
        .default(Default::Str(""))
        .help("Kind of inventory being represented."),
    Field::text("host_filter", "Host filter")
        .nullable()
        .default(Default::Null)
        .help("Filter that will be applied to the hosts of this inventory."),
    Field::vars("variables", "Variables").help("Inventory variables in JSON or YAML format."),
    // AWX keeps these counters on the row (update_computed_fields). rawx
    // keeps the counts on the row too, by triggers (migration V10), and
    // computes the failure flags from each host's `last_job_failed` (V12,
    // also a trigger's), so none is ever stale.
    Field::boolean("has_active_failures", "Has active failures")
        .read_only()
        .unfilterable()
        .column(Column::Computed("SELECT EXISTS (SELECT 1 FROM hosts h WHERE h.inventory_id = {o}.id AND h.last_job_failed)"))
        .help("This field is deprecated and will be removed in a future release. Flag indicating whether any hosts in this inventory have failed."),
    Field::int("total_hosts", "Total hosts")
        .read_only()
        .unfilterable()
        .help("This field is deprecated and will be removed in a future release. Total number of hosts in this inventory."),
    Field::int("hosts_with_active_failures", "Hosts with active failures")
        .read_only()
        .unfilterable()
        .column(Column::Computed("SELECT count(*) FROM hosts h WHERE h.inventory_id = {o}.id AND h.last_job_failed"))
        .help("This field is deprecated and will be removed in a future release. Number of hosts in this inventory with active failures."),
    Field::int("total_groups", "Total groups")
        .read_only()
        .unfilterable()
        .help("This field is deprecated and will be removed in a future release. Total number of groups in this inventory."),
    Field::boolean("has_inventory_sources", "Has inventory sources")
        .read_only()
        .unfilterable()
        .column(Column::Computed("{o}.total_inventory_sources > 0"))
        .help("This field is deprecated and will be removed in a future release. Flag indicating whether this inventory has any external inventory sources."),
    Field::int("total_inventory_sources", "Total inventory sources")
        .read_only()
        .unfilterable()
        .help("Total number of external inventory sources configured within this inventory."),
    Field::int("inventory_sources_with_failures", "Inventory sources with failures")
        .read_only()
        .unfilterable()
        .column(Column::Computed("SELECT count(*) FROM inventory_sources s JOIN unified_job_templates u ON u.id = s.id WHERE s.inventory_id = {o}.id AND u.last_job_failed"))
        .help("Number of external inventory sources in this inventory with failures."),
    Field::boolean("pending_deletion", "Pending deletion")
        .read_only()
        .help("Flag indicating the inventory is being deleted."),
    Field::boolean(
        "prevent_instance_group_fallback",
        "Prevent instance group fallback",
    )
    .help("If enabled, the inventory will prevent adding any organization instance groups to the list of preferred instances groups to run associated job templates on.If this setting is enabled and you provided an empty list, the global instance groups will be applied."),
];

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the inventory",
        parents: &[RoleRef::Fk("organization", "inventory_admin_role")],
    },
    RoleDecl {
        field: "update_role",
        name: "Update",
        description: "May update the inventory",
        parents: &[RoleRef::Own("admin_role")],
    },
    RoleDecl {
        field: "adhoc_role",
        name: "Ad Hoc",
        description: "May run ad hoc commands on the inventory",
        parents: &[RoleRef::Own("admin_role")],
    },
    RoleDecl {
        field: "use_role",
        name: "Use",
        description: "Can use the inventory in a job template",
        parents: &[RoleRef::Own("adhoc_role")],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the inventory",
        parents: &[
            RoleRef::Fk("organization", "auditor_role"),
            RoleRef::Own("update_role"),
            RoleRef::Own("use_role"),
        ],
    },
];

/// `/api/v2/inventories/`.
pub const INVENTORY: Resource = Resource {
    type_name: "inventory",
    path: "inventories",
    display: "Inventory",
    storage: Storage::Table("inventories"),
    fields: FIELDS,
    ordering: &["name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("organization"),
        Link::Sub("hosts"),
        Link::Sub("variable_data"),
        Link::Sub("script"),
        Link::Sub("activity_stream"),
        Link::Sub("job_templates"),
        Link::Sub("ad_hoc_commands"),
        Link::Sub("access_list"),
        Link::Sub("object_roles"),
        Link::Sub("instance_groups"),
        Link::Sub("labels"),
        // AWX shows these for plain and constructed inventories only.
        Link::Sub("groups"),
        Link::Sub("root_groups"),
        Link::Sub("update_inventory_sources"),
        Link::Sub("inventory_sources"),
        Link::Sub("tree"),
    ],
    summary: &[
        "id",
        "name",
        "description",
        "has_active_failures",
        "total_hosts",
        "hosts_with_active_failures",
        "total_groups",
        "has_inventory_sources",
        "total_inventory_sources",
        "inventory_sources_with_failures",
        "kind",
        "organization_id:organization_id",
    ],
    roles: ROLES,
    access: Access {
        read: Read::OwnRole("read_role"),
        change: Change::OwnRole("admin_role"),
        create: Create::FkRole("organization", "inventory_admin_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("organization"),
    }),
    deletion: Deletion::Accepted,
    tracks_users: true,
    copy: Some(Copying {
        keep: &[],
        discard: &[],
        uses: &[],
        parts: &[
            CopyPart::Links {
                table: "inventory_instance_groups",
                owner: "inventory_id",
                columns: &["instance_group_id", "position"],
                needs: None,
            },
            CopyPart::InventoryContents,
        ],
        workflow_form: false,
    }),
};
