//! `/api/v2/activity_stream/`: who changed what, read-only.

use crate::resource::{Access, Change, Column, Create, Deletion, Field, Read, Resource, Storage};

const FIELDS: &[Field] = &[
    Field::datetime("timestamp", "Timestamp").column(Column::Own("timestamp")),
    Field::choice(
        "operation",
        "Operation",
        &[
            ("create", "Entity Created"),
            ("update", "Entity Updated"),
            ("delete", "Entity Deleted"),
            ("associate", "Entity Associated with another Entity"),
            ("disassociate", "Entity was Disassociated with another Entity"),
        ],
    )
    .read_only(),
    Field::json("changes", "Changes")
        .read_only()
        .unfilterable()
        .help("A summary of the new and changed values when an object is created, updated, or deleted"),
    Field::text("object1", "Object1").read_only(),
    Field::text("object2", "Object2").read_only(),
    Field::text("object_association", "Object association")
        .read_only()
        .column(Column::Own("object_relationship_type")),
    Field::text("action_node", "Action node").read_only(),
    Field::fk("actor", "Actor", "user", "actor_id").read_only().nullable(),
];

/// `/api/v2/activity_stream/`.
pub const ACTIVITY_STREAM: Resource = Resource {
    type_name: "activity_stream",
    path: "activity_stream",
    display: "Activity Stream",
    storage: Storage::Table("activity_stream"),
    fields: FIELDS,
    ordering: &["-timestamp"],
    search: &["object1", "object2", "operation"],
    links: &[],
    summary: &["id", "operation"],
    roles: &[],
    access: Access {
        read: Read::Custom,
        change: Change::SuperuserOnly,
        create: Create::Never,
    },
    named_url: None,
    deletion: Deletion::Forbidden,
    tracks_users: false,
    copy: None,
};
