//! Inventory update events: what `ansible-inventory` printed, read through
//! their update (`/api/v2/inventory_updates/N/events/`).

use crate::resource::{Access, Change, Create, Deletion, Field, Read, Resource, Storage};

const FIELDS: &[Field] = &[
    Field::int("counter", "Counter").read_only(),
    Field::json("event_data", "Event data")
        .read_only()
        .unfilterable(),
    Field::text("uuid", "Uuid").read_only(),
    Field::text("stdout", "Stdout").read_only(),
    Field::int("start_line", "Start line").read_only(),
    Field::int("end_line", "End line").read_only(),
    Field::int("verbosity", "Verbosity").read_only(),
    Field::fk(
        "inventory_update",
        "Inventory update",
        "inventory_update",
        "inventory_update_id",
    )
    .read_only(),
];

/// `/api/v2/inventory_update_events/` (served under their inventory update).
pub const INVENTORY_UPDATE_EVENT: Resource = Resource {
    type_name: "inventory_update_event",
    path: "inventory_update_events",
    display: "Inventory Update Event",
    storage: Storage::Table("inventory_update_events"),
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
