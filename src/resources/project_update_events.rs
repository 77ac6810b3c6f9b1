//! Project update events: what the update's playbook reported, read
//! through their update (`/api/v2/project_updates/N/events/`).

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
    Field::text("host_name", "Host name").read_only(),
    Field::text("playbook", "Playbook").read_only(),
    Field::text("play", "Play").read_only(),
    Field::text("task", "Task").read_only(),
    Field::text("role", "Role").read_only(),
    Field::text("stdout", "Stdout").read_only(),
    Field::int("start_line", "Start line").read_only(),
    Field::int("end_line", "End line").read_only(),
    Field::int("verbosity", "Verbosity").read_only(),
    Field::fk(
        "project_update",
        "Project update",
        "project_update",
        "project_update_id",
    )
    .read_only(),
];

/// `/api/v2/project_update_events/` (served under their update).
pub const PROJECT_UPDATE_EVENT: Resource = Resource {
    type_name: "project_update_event",
    path: "project_update_events",
    display: "Project Update Event",
    storage: Storage::Table("project_update_events"),
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
