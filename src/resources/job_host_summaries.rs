//! Per-host results of a job, from its `playbook_on_stats` event.

use crate::resource::{Access, Change, Create, Deletion, Field, Read, Resource, Storage};

const FIELDS: &[Field] = &[
    Field::fk("job", "Job", "job", "job_id").read_only(),
    Field::fk("host", "Host", "host", "host_id")
        .read_only()
        .nullable(),
    Field::text("host_name", "Host name").read_only(),
    Field::int("changed", "Changed").read_only(),
    Field::int("dark", "Dark").read_only(),
    Field::int("failures", "Failures").read_only(),
    Field::int("ok", "Ok").read_only(),
    Field::int("processed", "Processed").read_only(),
    Field::int("skipped", "Skipped").read_only(),
    Field::boolean("failed", "Failed").read_only(),
    Field::int("ignored", "Ignored").read_only(),
    Field::int("rescued", "Rescued").read_only(),
];

/// `/api/v2/job_host_summaries/` (AWX serves them under their job and host).
pub const JOB_HOST_SUMMARY: Resource = Resource {
    type_name: "job_host_summary",
    path: "job_host_summaries",
    display: "Job Host Summary",
    storage: Storage::Table("job_host_summaries"),
    fields: FIELDS,
    ordering: &["host_name"],
    search: &["host_name"],
    links: &[],
    summary: &["id", "host_name", "failed"],
    roles: &[],
    access: Access {
        read: Read::SystemOnly,
        change: Change::SuperuserOnly,
        create: Create::Never,
    },
    named_url: None,
    deletion: Deletion::Forbidden,
    tracks_users: false,
    copy: None,
};
