//! Ad hoc commands: one module run over an inventory's hosts, a kind of
//! unified job without a template. Created by POST (here, or under an
//! inventory, host or group), checked by `api::ad_hoc`.

use super::job_templates::VERBOSITY;
use super::jobs::{JOB_STATUS, LAUNCH_TYPES, LAUNCHED_BY, unified_job_fields};
use crate::resource::{
    Access, Change, Column, Create, Default, Deletion, Field, Kind, Link, Read, Resource, Storage,
};

const JOB_TYPES: &[(&str, &str)] = &[("run", "Run"), ("check", "Check")];

const FIELDS: &[Field] = unified_job_fields!["inventory";
    Field::choice("job_type", "Job type", JOB_TYPES).default(Default::Str("run")),
    Field::fk("inventory", "Inventory", "inventory", "inventory_id").nullable(),
    Field::text("limit", "Limit"),
    Field::fk("credential", "Credential", "credential", "credential_id").nullable().default(Default::Null),
    Field::string("module_name", "Module name", 1024).default(Default::Str("command")),
    Field::text("module_args", "Module args"),
    Field::int("forks", "Forks").default(Default::Int(0)),
    Field::int_choice("verbosity", "Verbosity", VERBOSITY).default(Default::Int(0)),
    Field::text("extra_vars", "Extra vars"),
    Field::boolean("become_enabled", "Become enabled"),
    Field::boolean("diff_mode", "Diff mode"),
];

/// `/api/v2/ad_hoc_commands/`.
pub const AD_HOC_COMMAND: Resource = Resource {
    type_name: "ad_hoc_command",
    path: "ad_hoc_commands",
    display: "Ad Hoc Command",
    storage: Storage::Inherited {
        parent: "unified_jobs",
        child: "ad_hoc_commands",
        kind: "ad_hoc_command",
    },
    fields: FIELDS,
    ordering: &["id"],
    search: &["name", "description", "module_name", "module_args"],
    links: &[
        Link::Fk("inventory"),
        Link::Fk("credential"),
        Link::Sub("events"),
        Link::Sub("activity_stream"),
        Link::Sub("notifications"),
        Link::Sub("stdout"),
        Link::Sub("cancel"),
        Link::Sub("relaunch"),
    ],
    summary: &["id", "name", "status", "failed", "elapsed"],
    roles: &[],
    access: Access {
        read: Read::ViaFk("inventory", "read_role"),
        change: Change::ViaFk("inventory", "admin_role"),
        // Creation is checked by `api::ad_hoc` (the inventory's adhoc role).
        create: Create::FkRole("inventory", "adhoc_role"),
    },
    named_url: None,
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
