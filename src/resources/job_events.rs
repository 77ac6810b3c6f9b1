//! Job events: what ansible-runner reported, one row per event, read
//! through their job (`/api/v2/jobs/N/job_events/`).

use crate::resource::{Access, Change, Column, Create, Deletion, Field, Read, Resource, Storage};

const FIELDS: &[Field] = &[
    Field::text("event", "Event").read_only(),
    Field::int("counter", "Counter").read_only(),
    Field::text("event_display", "Event display")
        .read_only()
        .unfilterable()
        .column(Column::Computed("{o}.event")),
    Field::json("event_data", "Event data")
        .read_only()
        .unfilterable(),
    Field::boolean("failed", "Failed").read_only(),
    Field::boolean("changed", "Changed").read_only(),
    Field::text("uuid", "Uuid").read_only(),
    Field::text("parent_uuid", "Parent uuid").read_only(),
    Field::fk("host", "Host", "host", "host_id")
        .read_only()
        .nullable(),
    Field::text("host_name", "Host name").read_only(),
    Field::text("playbook", "Playbook").read_only(),
    Field::text("play", "Play").read_only(),
    Field::text("task", "Task").read_only(),
    Field::text("role", "Role").read_only(),
    Field::text("stdout", "Stdout").read_only(),
    Field::int("start_line", "Start line").read_only(),
    Field::int("end_line", "End line").read_only(),
    Field::int("verbosity", "Verbosity").read_only(),
    Field::fk("job", "Job", "job", "job_id").read_only(),
];

/// `/api/v2/job_events/` (AWX serves them under their job).
pub const JOB_EVENT: Resource = Resource {
    type_name: "job_event",
    path: "job_events",
    display: "Job Event",
    storage: Storage::Table("job_events"),
    fields: FIELDS,
    ordering: &["start_line", "counter"],
    search: &["stdout"],
    links: &[],
    summary: &["id", "event", "counter"],
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
