//! Users: people and the accounts scripts log in with.

use crate::resource::{
    Access, Change, Create, Deletion, Field, Link, NamedUrl, Read, Resource, Storage,
};

const FIELDS: &[Field] = &[
    Field::string("username", "Username", 150)
        .required()
        .help("Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."),
    Field::string("first_name", "First name", 150),
    Field::string("last_name", "Last name", 150),
    Field::string("email", "Email address", 254),
    Field::boolean("is_superuser", "Superuser status")
        .help("Designates that this user has all permissions without explicitly assigning them."),
    Field::boolean("is_system_auditor", "Is system auditor"),
    Field::text("password", "Password")
        .write_only()
        .secret()
        .help("Field used to change the password."),
    Field::datetime("last_login", "Last login"),
];

/// `/api/v2/users/`.
pub const USER: Resource = Resource {
    type_name: "user",
    path: "users",
    display: "User",
    storage: Storage::Table("users"),
    fields: FIELDS,
    ordering: &["username"],
    search: &["username", "first_name", "last_name", "email"],
    links: &[
        Link::Sub("teams"),
        Link::Sub("organizations"),
        Link::Sub("admin_of_organizations"),
        Link::Sub("projects"),
        Link::Sub("credentials"),
        Link::Sub("roles"),
        Link::Sub("activity_stream"),
        Link::Sub("access_list"),
        Link::Sub("tokens"),
        Link::Sub("authorized_tokens"),
        Link::Sub("personal_tokens"),
    ],
    summary: &["id", "username", "first_name", "last_name"],
    roles: &[],
    access: Access {
        read: Read::Custom,
        change: Change::Custom,
        // Superusers, and organization admins (AWX's MANAGE_ORGANIZATION_AUTH).
        create: Create::Custom,
    },
    named_url: Some(NamedUrl {
        field: "username",
        parent: None,
    }),
    deletion: Deletion::Immediate,
    tracks_users: false,
    copy: None,
};
