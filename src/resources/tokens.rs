//! Personal access tokens (`o_auth2_access_token`): what `awx login` and the
//! awx.awx collection authenticate with.

use crate::resource::{
    Access, Change, Column, Create, Default, Deletion, Field, Link, Read, Resource, Storage,
};

const FIELDS: &[Field] = &[
    Field::text("description", "Description"),
    Field::fk("user", "User", "user", "user_id")
        .read_only()
        .help("The user representing the token owner"),
    Field::text("token", "Token")
        .read_only()
        .unfilterable()
        .column(Column::Computed("'************'")),
    Field::text("refresh_token", "Refresh token")
        .read_only()
        .nullable()
        .unfilterable()
        .column(Column::Computed("NULL::text")),
    Field::fk("application", "Application", "o_auth2_application", "application_id")
        .nullable()
        .create_only()
        .default(Default::Null),
    Field::datetime("expires", "Expires"),
    Field::choice("scope", "Scope", &[("read", "Read"), ("write", "Write")])
        .default(Default::Str("write"))
        .help("Allowed scopes, further restricts user's permissions. Must be a simple space-separated string with allowed scopes ['read', 'write']."),
    Field::text("token_hash", "Token hash").internal(),
];

/// `/api/v2/tokens/`.
pub const TOKEN: Resource = Resource {
    type_name: "o_auth2_access_token",
    path: "tokens",
    display: "Access Token",
    storage: Storage::Table("tokens"),
    fields: FIELDS,
    ordering: &["id"],
    search: &["description"],
    links: &[Link::Sub("activity_stream")],
    summary: &["id", "description"],
    roles: &[],
    access: Access {
        read: Read::Custom,
        change: Change::Custom,
        create: Create::Custom,
    },
    named_url: None,
    deletion: Deletion::Immediate,
    tracks_users: false,
    copy: None,
};
