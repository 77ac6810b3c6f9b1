//! `/api/v2/roles/`: every object role, read-only; grants go through the
//! role's `users` and `teams` sub-lists.

use crate::resource::{
    Access, Change, Column, Create, Deletion, Field, Link, Read, Resource, Storage,
};

const RESOURCE_NAME: &str = "CASE {o}.content_type \
    WHEN 'organization' THEN (SELECT name FROM organizations WHERE id = {o}.object_id) \
    WHEN 'team' THEN (SELECT name FROM teams WHERE id = {o}.object_id) \
    WHEN 'credential' THEN (SELECT name FROM credentials WHERE id = {o}.object_id) \
    WHEN 'inventory' THEN (SELECT name FROM inventories WHERE id = {o}.object_id) \
    WHEN 'instance_group' THEN (SELECT name FROM instance_groups WHERE id = {o}.object_id) \
    WHEN 'project' THEN (SELECT name FROM unified_job_templates WHERE id = {o}.object_id) \
    WHEN 'job_template' THEN (SELECT name FROM unified_job_templates WHERE id = {o}.object_id) \
    WHEN 'workflow_job_template' THEN (SELECT name FROM unified_job_templates WHERE id = {o}.object_id) \
    END";

const FIELDS: &[Field] = &[
    Field::text("role_field", "Role field")
        .read_only()
        .column(Column::Own("role_field")),
    Field::text("resource_type", "Resource type")
        .read_only()
        .nullable()
        .column(Column::Own("content_type")),
    Field::int("resource_id", "Resource id")
        .read_only()
        .nullable()
        .column(Column::Own("object_id")),
    Field::text("resource_name", "Resource name")
        .read_only()
        .nullable()
        .unfilterable()
        .column(Column::Computed(RESOURCE_NAME)),
];

/// `/api/v2/roles/`.
pub const ROLE: Resource = Resource {
    type_name: "role",
    path: "roles",
    display: "Role",
    storage: Storage::Table("roles"),
    fields: FIELDS,
    ordering: &["id"],
    search: &["role_field"],
    links: &[Link::Sub("users"), Link::Sub("teams")],
    summary: &["id", "role_field"],
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
