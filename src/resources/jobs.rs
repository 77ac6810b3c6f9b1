//! Jobs: runs of a job template, a kind of unified job. Created by launch,
//! never by POST; read-only but for deletion once finished.

use super::job_templates::{JOB_TYPES, VERBOSITY};
use crate::resource::{
    Access, Change, Column, Create, Deletion, Field, Kind, Link, Read, Resource, Storage,
};

/// AWX's `STATUS_CHOICES` for unified jobs.
pub const JOB_STATUS: &[(&str, &str)] = &[
    ("new", "New"),
    ("pending", "Pending"),
    ("waiting", "Waiting"),
    ("running", "Running"),
    ("successful", "Successful"),
    ("failed", "Failed"),
    ("error", "Error"),
    ("canceled", "Canceled"),
];

/// AWX's `LAUNCH_TYPE_CHOICES`.
pub const LAUNCH_TYPES: &[(&str, &str)] = &[
    ("manual", "Manual"),
    ("relaunch", "Relaunch"),
    ("callback", "Callback"),
    ("scheduled", "Scheduled"),
    ("dependency", "Dependency"),
    ("workflow", "Workflow"),
    ("webhook", "Webhook"),
    ("sync", "Sync"),
    ("scm", "SCM Update"),
];

const LAUNCHED_BY: &str = "SELECT CASE WHEN u.id IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('id', u.id, 'name', u.username, 'type', 'user', 'url', '/api/v2/users/' || u.id || '/') END FROM (SELECT {p}.launched_by_id AS id) l LEFT JOIN users u ON u.id = l.id";

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).read_only().in_parent(),
    Field::text("description", "Description").read_only().in_parent(),
    Field::fk("unified_job_template", "Unified job template", "job_template", "unified_job_template_id")
        .read_only()
        .nullable()
        .in_parent(),
    Field::choice("launch_type", "Launch type", LAUNCH_TYPES).read_only().in_parent(),
    Field::choice("status", "Status", JOB_STATUS).read_only().in_parent(),
    Field::fk("execution_environment", "Execution environment", "execution_environment", "execution_environment_id")
        .read_only()
        .nullable()
        .in_parent(),
    Field::boolean("failed", "Failed").read_only().in_parent(),
    Field::datetime("started", "Started").in_parent(),
    Field::datetime("finished", "Finished").in_parent(),
    Field::datetime("canceled_on", "Canceled on").in_parent(),
    Field::new_kind("elapsed", "Elapsed", Kind::Float).read_only().in_parent(),
    Field::text("job_explanation", "Job explanation")
        .read_only()
        .in_parent()
        .help("A status field to indicate the state of the job if it wasn't able to run and capture stdout"),
    Field::text("execution_node", "Execution node").read_only().in_parent(),
    Field::text("controller_node", "Controller node").read_only().in_parent(),
    Field::json("launched_by", "Launched by").read_only().unfilterable().column(Column::Computed(LAUNCHED_BY)),
    Field::text("work_unit_id", "Work unit id").read_only().nullable().in_parent(),
    Field::choice("job_type", "Job type", JOB_TYPES).read_only(),
    Field::fk("inventory", "Inventory", "inventory", "inventory_id").read_only().nullable(),
    Field::fk("project", "Project", "project", "project_id").read_only().nullable(),
    Field::text("playbook", "Playbook").read_only(),
    Field::text("scm_branch", "SCM Branch").read_only(),
    Field::int("forks", "Forks").read_only(),
    Field::text("limit", "Limit").read_only(),
    Field::int_choice("verbosity", "Verbosity", VERBOSITY).read_only(),
    Field::text("extra_vars", "Extra vars").read_only(),
    Field::text("job_tags", "Job tags").read_only(),
    Field::boolean("force_handlers", "Force handlers").read_only(),
    Field::text("skip_tags", "Skip tags").read_only(),
    Field::text("start_at_task", "Start at task").read_only(),
    Field::int("timeout", "Timeout").read_only(),
    Field::boolean("use_fact_cache", "Use fact cache").read_only(),
    Field::fk("organization", "Organization", "organization", "organization_id")
        .read_only()
        .nullable()
        .in_parent(),
    Field::fk("job_template", "Job template", "job_template", "job_template_id").read_only().nullable(),
    Field::json("passwords_needed_to_start", "Passwords needed to start")
        .read_only()
        .unfilterable()
        .column(Column::Computed("'[]'::jsonb")),
    Field::boolean("allow_simultaneous", "Allow simultaneous").read_only(),
    Field::json("artifacts", "Artifacts").read_only().unfilterable(),
    Field::text("scm_revision", "SCM Revision").read_only(),
    Field::fk("instance_group", "Instance group", "instance_group", "instance_group_id")
        .read_only()
        .nullable()
        .in_parent(),
    Field::boolean("diff_mode", "Diff mode").read_only(),
    Field::int("job_slice_number", "Job slice number").read_only(),
    Field::int("job_slice_count", "Job slice count").read_only(),
    Field::text("webhook_service", "Webhook service").read_only(),
    Field::fk("webhook_credential", "Webhook credential", "credential", "webhook_credential_id")
        .read_only()
        .nullable(),
    Field::text("webhook_guid", "Webhook guid").read_only(),
    Field::text("job_args", "Job args").read_only().unfilterable().in_parent(),
    Field::text("job_cwd", "Job cwd").read_only().unfilterable().in_parent(),
    Field::json("job_env", "Job env").read_only().unfilterable().in_parent(),
    Field::text("result_traceback", "Result traceback").read_only().unfilterable().in_parent(),
    Field::boolean("event_processing_finished", "Event processing finished")
        .read_only()
        .in_parent()
        .help("Indicates whether all of the events generated by this unified job have been saved to the database."),
];

/// `/api/v2/jobs/`.
pub const JOB: Resource = Resource {
    type_name: "job",
    path: "jobs",
    display: "Job",
    storage: Storage::Inherited {
        parent: "unified_jobs",
        child: "jobs",
        kind: "job",
    },
    fields: FIELDS,
    ordering: &["id"],
    search: &["name", "description"],
    links: &[
        Link::Sub("labels"),
        Link::Sub("credentials"),
        Link::Sub("unified_job_template"),
        Link::Sub("stdout"),
        Link::Sub("job_events"),
        Link::Sub("job_host_summaries"),
        Link::Sub("activity_stream"),
        Link::Sub("notifications"),
        Link::Sub("create_schedule"),
        Link::Sub("cancel"),
        Link::Sub("relaunch"),
    ],
    summary: &["id", "name", "description", "status", "failed", "elapsed"],
    roles: &[],
    access: Access {
        read: Read::ViaFk("job_template", "read_role"),
        change: Change::ViaFk("job_template", "admin_role"),
        create: Create::Never,
    },
    named_url: None,
    deletion: Deletion::Immediate,
    tracks_users: true,
};
