//! `/api/v2/instances/`: the nodes, from their heartbeat rows.

use crate::resource::{
    Access, Change, Column, Create, Deletion, Field, Kind, Link, NamedUrl, Read, Resource, Storage,
};

const FIELDS: &[Field] = &[
    Field::text("uuid", "Uuid").read_only().column(Column::Computed("{o}.uuid::text")),
    Field::string("hostname", "Hostname", 250).read_only(),
    Field::datetime("last_seen", "Last seen"),
    Field::datetime("health_check_started", "Health check started").column(Column::Computed("NULL::timestamptz")),
    Field::boolean("health_check_pending", "Health check pending")
        .read_only()
        .unfilterable()
        .column(Column::Computed("false")),
    Field::datetime("last_health_check", "Last health check"),
    Field::text("errors", "Errors").read_only(),
    Field::new_kind("capacity_adjustment", "Capacity adjustment", Kind::Float)
        .help("Between 0 and 1: how far capacity goes from the smaller to the larger of CPU and memory capacity."),
    Field::text("version", "Version").read_only(),
    Field::int("capacity", "Capacity").read_only(),
    Field::int("consumed_capacity", "Consumed capacity")
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "SELECT coalesce(sum(j.task_impact), 0) FROM unified_jobs j WHERE j.execution_node = {o}.hostname AND j.status IN ('waiting', 'running')",
        )),
    Field::new_kind("percent_capacity_remaining", "Percent capacity remaining", Kind::Float)
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "CASE WHEN {o}.capacity > 0 THEN round(100.0 * greatest({o}.capacity - (SELECT coalesce(sum(j.task_impact), 0) FROM unified_jobs j WHERE j.execution_node = {o}.hostname AND j.status IN ('waiting', 'running')), 0) / {o}.capacity, 1) ELSE 0 END",
        )),
    Field::int("jobs_running", "Jobs running")
        .read_only()
        .unfilterable()
        .column(Column::Computed("SELECT count(*) FROM unified_jobs j WHERE j.execution_node = {o}.hostname AND j.status IN ('waiting', 'running')")),
    Field::int("jobs_total", "Jobs total")
        .read_only()
        .unfilterable()
        .column(Column::Computed("SELECT count(*) FROM unified_jobs j WHERE j.execution_node = {o}.hostname")),
    Field::new_kind("cpu", "Cpu", Kind::Float).read_only(),
    Field::int("memory", "Memory").read_only(),
    Field::int("cpu_capacity", "Cpu capacity").read_only(),
    Field::int("mem_capacity", "Mem capacity").read_only(),
    Field::boolean("enabled", "Enabled"),
    Field::boolean("managed_by_policy", "Managed by policy"),
    Field::choice(
        "node_type",
        "Node type",
        &[("control", "Control plane node"), ("execution", "Execution node"), ("hybrid", "Controller and execution"), ("hop", "Message-passing node, no execution capability")],
    )
    .read_only(),
    Field::choice(
        "node_state",
        "Node state",
        &[
            ("provisioning", "Provisioning"),
            ("provision-fail", "Provisioning Failure"),
            ("installed", "Installed"),
            ("ready", "Ready"),
            ("unavailable", "Unavailable"),
            ("deprovisioning", "De-provisioning"),
            ("deprovision-fail", "De-provisioning Failure"),
        ],
    ),
    Field::boolean("managed", "Managed").read_only(),
    Field::text("ip_address", "Ip address").read_only(),
    Field::int("listener_port", "Listener port").bounds(Some(1), Some(65535)).nullable(),
    // The instances it has a live mesh link with; links carry no
    // direction in the mesh, so the reverse peers are the same.
    Field::json("peers", "Peers").read_only().unfilterable().column(Column::Computed("to_jsonb({o}.mesh_peers)")),
    Field::json("reverse_peers", "Reverse peers").read_only().unfilterable().column(Column::Computed("to_jsonb({o}.mesh_peers)")),
    Field::boolean("peers_from_control_nodes", "Peers from control nodes"),
];

/// `/api/v2/instances/`.
pub const INSTANCE: Resource = Resource {
    type_name: "instance",
    path: "instances",
    display: "Instance",
    storage: Storage::Table("instances"),
    fields: FIELDS,
    ordering: &["hostname"],
    search: &["hostname"],
    links: &[
        Link::Sub("jobs"),
        Link::Sub("instance_groups"),
        Link::Sub("peers"),
        Link::Sub("receptor_addresses"),
        Link::Sub("health_check"),
    ],
    summary: &["id", "hostname", "node_type"],
    roles: &[],
    access: Access {
        read: Read::Anyone,
        change: Change::SuperuserOnly,
        create: Create::Never,
    },
    named_url: Some(NamedUrl {
        field: "hostname",
        parent: None,
    }),
    deletion: Deletion::Forbidden,
    tracks_users: false,
    copy: None,
};
