//! Instance groups: the sets of instances (or the container platform) jobs
//! are placed on.

use crate::resource::{
    Access, Change, Column, Create, Default, Deletion, Field, Kind, Link, NamedUrl, Read, Resource,
    RoleDecl, RoleRef, Storage,
};

/// Total capacity: a container group's `max_forks`, else its enabled
/// instances'.
macro_rules! capacity {
    () => {
        "SELECT CASE WHEN {o}.is_container_group THEN {o}.max_forks ELSE \
         coalesce((SELECT sum(i.capacity) FROM instance_group_instances gi \
         JOIN instances i ON i.id = gi.instance_id \
         WHERE gi.instance_group_id = {o}.id AND i.enabled), 0) END"
    };
}

/// Capacity taken by the group's waiting and running jobs.
macro_rules! consumed {
    () => {
        "SELECT coalesce(sum(j.task_impact), 0) FROM unified_jobs j \
         WHERE j.instance_group_id = {o}.id AND j.status IN ('waiting', 'running')"
    };
}

/// What is left, in percent of the capacity (0 when there is none).
const PERCENT_REMAINING: &str = concat!(
    "SELECT CASE WHEN c.cap > 0 THEN round(100.0 * (c.cap - c.used) / c.cap, 2) ELSE 0 END \
     FROM (SELECT (",
    capacity!(),
    ") AS cap, (",
    consumed!(),
    ") AS used) c"
);

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 250).required(),
    Field::int("capacity", "Capacity")
        .read_only()
        .unfilterable()
        .column(Column::Computed(capacity!())),
    Field::int("consumed_capacity", "Consumed capacity")
        .read_only()
        .unfilterable()
        .column(Column::Computed(consumed!())),
    Field {
        kind: Kind::Float,
        ..Field::int("percent_capacity_remaining", "Percent capacity remaining")
            .read_only()
            .unfilterable()
        .column(Column::Computed(PERCENT_REMAINING))
    },
    Field::int("jobs_running", "Jobs running")
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "SELECT count(*) FROM unified_jobs j \
              WHERE j.instance_group_id = {o}.id AND j.status IN ('waiting', 'running')",
        )),
    Field::int("max_concurrent_jobs", "Max Concurrent Jobs")
        .bounds(Some(0), None)
        .default(Default::Int(0))
        .help("Maximum number of concurrent jobs to run on a group. When set to zero, no maximum is enforced."),
    Field::int("max_forks", "Max Forks")
        .bounds(Some(0), None)
        .default(Default::Int(0))
        .help("Maximum number of forks to execute concurrently on a group. When set to zero, no maximum is enforced."),
    Field::int("jobs_total", "Jobs total")
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "SELECT count(*) FROM unified_jobs j WHERE j.instance_group_id = {o}.id",
        ))
        .help("Count of all jobs that target this instance group"),
    Field::int("instances", "Instances")
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "SELECT count(*) FROM instance_group_instances gi WHERE gi.instance_group_id = {o}.id",
        )),
    Field::boolean("is_container_group", "Is container group")
        .help("Indicates whether instances in this group are containerized.Containerized groups have a designated Openshift or Kubernetes cluster."),
    Field::fk("credential", "Credential", "credential", "credential_id")
        .nullable()
        .default(Default::Null),
    Field::int("policy_instance_percentage", "Policy Instance Percentage")
        .bounds(Some(0), Some(100))
        .default(Default::Int(0))
        .help("Minimum percentage of all instances that will be automatically assigned to this group when new instances come online."),
    Field::int("policy_instance_minimum", "Policy Instance Minimum")
        .bounds(Some(0), None)
        .default(Default::Int(0))
        .help("Static minimum number of Instances that will be automatically assign to this group when new instances come online."),
    // Default `[]` comes from the database (no list default in `Default`).
    Field::json("policy_instance_list", "Policy Instance List")
        .help("List of exact-match Instances that will be assigned to this group"),
    Field::text("pod_spec_override", "Pod spec override"),
];

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the instance group",
        parents: &[],
    },
    RoleDecl {
        field: "use_role",
        name: "Use",
        description: "Can use the instance group in a job template",
        parents: &[RoleRef::Own("admin_role")],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the instance group",
        parents: &[RoleRef::Own("use_role")],
    },
];

/// `/api/v2/instance_groups/`.
pub const INSTANCE_GROUP: Resource = Resource {
    type_name: "instance_group",
    path: "instance_groups",
    display: "Instance Group",
    storage: Storage::Table("instance_groups"),
    fields: FIELDS,
    ordering: &["id"],
    search: &["name"],
    links: &[
        Link::Fk("credential"),
        Link::Sub("jobs"),
        Link::Sub("instances"),
        Link::Sub("access_list"),
        Link::Sub("object_roles"),
    ],
    summary: &["id", "name", "is_container_group"],
    roles: ROLES,
    access: Access {
        read: Read::OwnRole("read_role"),
        change: Change::OwnRole("admin_role"),
        create: Create::SuperuserOnly,
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: None,
    }),
    deletion: Deletion::Immediate,
    tracks_users: false,
    copy: None,
};
