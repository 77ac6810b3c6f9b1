//! Labels: organization-scoped tags for templates, jobs and inventories.

use crate::resource::{
    Access, Change, Create, Deletion, Field, Link, NamedUrl, Read, Resource, Storage,
};

// AWX hides the model's `description` from the API.
const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::fk(
        "organization",
        "Organization",
        "organization",
        "organization_id",
    )
    .required()
    .help("Organization this label belongs to."),
];

/// `/api/v2/labels/`.
pub const LABEL: Resource = Resource {
    type_name: "label",
    path: "labels",
    display: "Label",
    storage: Storage::Table("labels"),
    fields: FIELDS,
    ordering: &["organization", "name"],
    search: &["name"],
    links: &[Link::Fk("organization")],
    summary: &["id", "name"],
    roles: &[],
    access: Access {
        // AWX also shows labels attached to templates the user can read.
        read: Read::ViaFk("organization", "read_role"),
        change: Change::ViaFk("organization", "admin_role"),
        create: Create::FkRole("organization", "member_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("organization"),
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
