//! Project updates: a project's checkout refreshed from its SCM, a kind of
//! unified job. Created by `/projects/N/update/` or as a job's dependency,
//! never by POST; read-only but for deletion once finished.

use super::jobs::{JOB_STATUS, LAUNCH_TYPES, LAUNCHED_BY, unified_job_fields};
use super::projects::SCM_TYPES;
use crate::resource::{
    Access, Change, Column, Create, Deletion, Field, Kind, Link, Read, Resource, Storage,
};

const JOB_TYPES: &[(&str, &str)] = &[("run", "Run"), ("check", "Check")];

const FIELDS: &[Field] = unified_job_fields!["project";
    Field::fk("project", "Project", "project", "project_id").read_only(),
    Field::string("local_path", "Local path", 1024).read_only(),
    Field::choice("scm_type", "SCM Type", SCM_TYPES).read_only(),
    Field::string("scm_url", "SCM URL", 1024).read_only(),
    Field::string("scm_branch", "SCM Branch", 256).read_only(),
    Field::string("scm_refspec", "SCM refspec", 1024).read_only(),
    Field::boolean("scm_clean", "Scm clean").read_only(),
    Field::boolean("scm_track_submodules", "Scm track submodules").read_only(),
    Field::boolean("scm_delete_on_update", "Scm delete on update").read_only(),
    Field::fk("credential", "Credential", "credential", "credential_id").read_only().nullable(),
    Field::int("timeout", "Timeout").read_only(),
    Field::string("scm_revision", "SCM Revision", 1024)
        .read_only()
        .help("The SCM Revision discovered by this update for the given project and branch."),
    Field::choice("job_type", "Job type", JOB_TYPES).read_only(),
    Field::text("job_tags", "Job tags").read_only(),
];

/// `/api/v2/project_updates/`.
pub const PROJECT_UPDATE: Resource = Resource {
    type_name: "project_update",
    path: "project_updates",
    display: "Project Update",
    storage: Storage::Inherited {
        parent: "unified_jobs",
        child: "project_updates",
        kind: "project_update",
    },
    fields: FIELDS,
    ordering: &["id"],
    search: &["name", "description"],
    links: &[
        Link::Fk("project"),
        Link::Fk("credential"),
        Link::Sub("unified_job_template"),
        Link::Sub("stdout"),
        Link::Sub("events"),
        Link::Sub("scm_inventory_updates"),
        Link::Sub("activity_stream"),
        Link::Sub("notifications"),
        Link::Sub("cancel"),
    ],
    summary: &["id", "name", "description", "status", "failed"],
    roles: &[],
    access: Access {
        read: Read::ViaFk("project", "read_role"),
        change: Change::ViaFk("project", "admin_role"),
        create: Create::Never,
    },
    named_url: None,
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
