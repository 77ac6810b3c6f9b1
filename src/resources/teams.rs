//! Teams: groups of users inside an organization that roles are granted to.

use crate::resource::{
    Access, Change, Create, Deletion, Field, Link, NamedUrl, Read, Resource, RoleDecl, RoleRef,
    Storage,
};

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    Field::fk(
        "organization",
        "Organization",
        "organization",
        "organization_id",
    )
    .required(),
];

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the team",
        parents: &[RoleRef::Fk("organization", "admin_role")],
    },
    RoleDecl {
        field: "member_role",
        name: "Member",
        description: "User is a member of the team",
        parents: &[RoleRef::Own("admin_role")],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the team",
        parents: &[
            RoleRef::Own("member_role"),
            RoleRef::Fk("organization", "auditor_role"),
        ],
    },
];

/// `/api/v2/teams/`.
pub const TEAM: Resource = Resource {
    type_name: "team",
    path: "teams",
    display: "Team",
    storage: Storage::Table("teams"),
    fields: FIELDS,
    ordering: &["organization", "name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("organization"),
        Link::Sub("projects"),
        Link::Sub("users"),
        Link::Sub("credentials"),
        Link::Sub("roles"),
        Link::Sub("object_roles"),
        Link::Sub("activity_stream"),
        Link::Sub("access_list"),
    ],
    summary: &["id", "name", "description"],
    roles: ROLES,
    access: Access {
        read: Read::OwnRole("read_role"),
        change: Change::OwnRole("admin_role"),
        create: Create::FkRole("organization", "admin_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("organization"),
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
