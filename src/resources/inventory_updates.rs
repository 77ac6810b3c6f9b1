//! Inventory updates: an inventory source synced, a kind of unified job.
//! Created by `/inventory_sources/N/update/`, by
//! `/inventories/N/update_inventory_sources/` or as a job's dependency.

use super::inventory_sources::{SOURCES, VERBOSITY};
use super::jobs::{JOB_STATUS, LAUNCH_TYPES, LAUNCHED_BY, unified_job_fields};
use crate::resource::{
    Access, Change, Column, Create, Deletion, Field, Kind, Link, Read, Resource, Storage,
};

const FIELDS: &[Field] = unified_job_fields!["inventory_source";
    Field::fk("inventory", "Inventory", "inventory", "inventory_id").read_only().nullable(),
    Field::fk("inventory_source", "Inventory source", "inventory_source", "inventory_source_id").read_only(),
    Field::choice("source", "Source", SOURCES).read_only(),
    Field::string("source_path", "Source path", 1024).read_only(),
    Field::text("source_vars", "Source vars").read_only(),
    Field::string("scm_branch", "Scm branch", 1024).read_only(),
    Field::fk("credential", "Credential", "credential", "credential_id").read_only().nullable(),
    Field::text("enabled_var", "Enabled var").read_only(),
    Field::text("enabled_value", "Enabled value").read_only(),
    Field::text("host_filter", "Host filter").read_only(),
    Field::boolean("overwrite", "Overwrite").read_only(),
    Field::boolean("overwrite_vars", "Overwrite vars").read_only(),
    Field::int("timeout", "Timeout").read_only(),
    Field::int_choice("verbosity", "Verbosity", VERBOSITY).read_only(),
    Field::text("limit", "Limit").read_only(),
    Field::fk("source_project_update", "Source project update", "project_update", "source_project_update_id")
        .read_only()
        .nullable(),
    Field::string("scm_revision", "SCM Revision", 1024).read_only(),
];

/// `/api/v2/inventory_updates/`.
pub const INVENTORY_UPDATE: Resource = Resource {
    type_name: "inventory_update",
    path: "inventory_updates",
    display: "Inventory Update",
    storage: Storage::Inherited {
        parent: "unified_jobs",
        child: "inventory_updates",
        kind: "inventory_update",
    },
    fields: FIELDS,
    ordering: &["id"],
    search: &["name", "description"],
    links: &[
        Link::Fk("inventory"),
        Link::Fk("inventory_source"),
        Link::Fk("credential"),
        Link::Sub("unified_job_template"),
        Link::Sub("stdout"),
        Link::Sub("events"),
        Link::Sub("activity_stream"),
        Link::Sub("notifications"),
        Link::Sub("cancel"),
    ],
    summary: &["id", "name", "description", "status", "failed"],
    roles: &[],
    access: Access {
        read: Read::ViaFk("inventory", "read_role"),
        change: Change::ViaFk("inventory", "admin_role"),
        create: Create::Never,
    },
    named_url: None,
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
