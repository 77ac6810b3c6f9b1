//! Ad hoc command events: what the command reported, read through their
//! command (`/api/v2/ad_hoc_commands/N/events/`).

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
    Field::fk("host", "Host", "host", "host_id")
        .read_only()
        .nullable(),
    Field::text("host_name", "Host name").read_only(),
    Field::text("stdout", "Stdout").read_only(),
    Field::int("start_line", "Start line").read_only(),
    Field::int("end_line", "End line").read_only(),
    Field::int("verbosity", "Verbosity").read_only(),
    Field::fk(
        "ad_hoc_command",
        "Ad hoc command",
        "ad_hoc_command",
        "ad_hoc_command_id",
    )
    .read_only(),
];

/// `/api/v2/ad_hoc_command_events/` (served under their ad hoc command).
pub const AD_HOC_COMMAND_EVENT: Resource = Resource {
    type_name: "ad_hoc_command_event",
    path: "ad_hoc_command_events",
    display: "Ad Hoc Command Event",
    storage: Storage::Table("ad_hoc_command_events"),
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
