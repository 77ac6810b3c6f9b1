//! Inventory sources: where an inventory's hosts and groups are imported
//! from, a kind of unified job template.

use crate::resource::{
    Access, Change, Column, Create, Default, Deletion, Field, Link, NamedUrl, Read, Resource,
    Storage,
};

/// AWX's `InventorySourceOptions.SOURCE_CHOICES`.
pub const SOURCES: &[(&str, &str)] = &[
    ("file", "File, Directory or Script"),
    (
        "constructed",
        "Template additional groups and hostvars at runtime",
    ),
    ("scm", "Sourced from a Project"),
    ("ec2", "Amazon EC2"),
    ("gce", "Google Compute Engine"),
    ("azure_rm", "Microsoft Azure Resource Manager"),
    ("vmware", "VMware vCenter"),
    ("satellite6", "Red Hat Satellite 6"),
    ("openstack", "OpenStack"),
    ("rhv", "Red Hat Virtualization"),
    ("controller", "Red Hat Ansible Automation Platform"),
    ("insights", "Red Hat Insights"),
    ("terraform", "Terraform State"),
    ("openshift_virtualization", "OpenShift Virtualization"),
];

/// AWX's `INVENTORY_UPDATE_VERBOSITY_CHOICES`.
pub const VERBOSITY: &[(i64, &str)] = &[(0, "0 (WARNING)"), (1, "1 (INFO)"), (2, "2 (DEBUG)")];

/// AWX's `INVENTORY_SOURCE_STATUS_CHOICES`.
const STATUS: &[(&str, &str)] = &[
    ("new", "New"),
    ("pending", "Pending"),
    ("waiting", "Waiting"),
    ("running", "Running"),
    ("successful", "Successful"),
    ("failed", "Failed"),
    ("error", "Error"),
    ("canceled", "Canceled"),
    ("never updated", "Never Updated"),
    ("none", "No External Source"),
];

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required().in_parent(),
    Field::text("description", "Description").in_parent(),
    Field::choice("source", "Source", SOURCES).required(),
    Field::string("source_path", "Source path", 1024),
    Field::vars("source_vars", "Source vars")
        .help("Inventory source variables in YAML or JSON format."),
    Field::string("scm_branch", "Scm branch", 1024)
        .help("Inventory source SCM branch. Project default used if blank. Only allowed if project allow_override field is set to true."),
    Field::fk("credential", "Credential", "credential", "credential_id")
        .nullable()
        .default(Default::Null)
        .help("Cloud credential to use for inventory updates."),
    Field::text("enabled_var", "Enabled var")
        .help("Retrieve the enabled state from the given dict of host variables. The enabled variable may be specified as \"foo.bar\", in which case the lookup will traverse into nested dicts, equivalent to: from_dict.get(\"foo\", {}).get(\"bar\", default)"),
    Field::text("enabled_value", "Enabled value")
        .help("Only used when enabled_var is set. Value when the host is considered enabled. For example if enabled_var=\"status.power_state\"and enabled_value=\"powered_on\" with host variables:{   \"status\": {     \"power_state\": \"powered_on\",     \"created\": \"2020-08-04T18:13:04+00:00\",     \"healthy\": true    },    \"name\": \"foobar\",    \"ip_address\": \"192.168.2.1\"}The host would be marked enabled. If power_state where any value other than powered_on then the host would be disabled when imported. If the key is not found then the host will be enabled"),
    Field::text("host_filter", "Host filter")
        .help("This field is deprecated and will be removed in a future release. Regex where only matching hosts will be imported."),
    Field::boolean("overwrite", "Overwrite")
        .help("Overwrite local groups and hosts from remote inventory source."),
    Field::boolean("overwrite_vars", "Overwrite vars")
        .help("Overwrite local variables from remote inventory source."),
    Field::string("custom_virtualenv", "Custom virtualenv", 100)
        .read_only()
        .nullable()
        .help("Local absolute file path containing a custom Python virtualenv to use"),
    Field::int("timeout", "Timeout")
        .default(Default::Int(0))
        .help("The amount of time (in seconds) to run before the task is canceled."),
    Field::int_choice("verbosity", "Verbosity", VERBOSITY).default(Default::Int(1)),
    Field::text("limit", "Limit").help("Enter host, group or pattern match"),
    Field::datetime("last_job_run", "Last job run").in_parent(),
    Field::boolean("last_job_failed", "Last job failed")
        .read_only()
        .in_parent(),
    Field::datetime("next_job_run", "Next job run").in_parent(),
    Field::choice("status", "Status", STATUS)
        .read_only()
        .in_parent(),
    Field::fk(
        "execution_environment",
        "Execution environment",
        "execution_environment",
        "execution_environment_id",
    )
    .nullable()
    .default(Default::Null)
    .in_parent()
    .help("The container image to be used for execution."),
    // AWX makes the inventory read-only once the source exists.
    Field::fk("inventory", "Inventory", "inventory", "inventory_id")
        .required()
        .create_only(),
    Field::boolean("update_on_launch", "Update on launch"),
    Field::int("update_cache_timeout", "Update cache timeout")
        .bounds(Some(0), Some(2_147_483_647))
        .default(Default::Int(0)),
    Field::fk(
        "source_project",
        "Source project",
        "project",
        "source_project_id",
    )
    .nullable()
    .default(Default::Null)
    .help("Project containing inventory file used as source."),
    Field::boolean("last_update_failed", "Last update failed")
        .read_only()
        .unfilterable()
        .column(Column::Computed("{p}.last_job_failed")),
    Field::datetime("last_updated", "Last updated").unfilterable()
        .column(Column::Computed("{p}.last_job_run")),
];

/// `/api/v2/inventory_sources/`.
pub const INVENTORY_SOURCE: Resource = Resource {
    type_name: "inventory_source",
    path: "inventory_sources",
    display: "Inventory Source",
    storage: Storage::Inherited {
        parent: "unified_job_templates",
        child: "inventory_sources",
        kind: "inventory_source",
    },
    fields: FIELDS,
    ordering: &["inventory", "name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("inventory"),
        Link::Fk("source_project"),
        Link::Fk("credential"),
        Link::Fk("execution_environment"),
        Link::Sub("update"),
        Link::Sub("inventory_updates"),
        Link::Sub("schedules"),
        Link::Sub("activity_stream"),
        Link::Sub("hosts"),
        Link::Sub("groups"),
        Link::Sub("notification_templates_started"),
        Link::Sub("notification_templates_success"),
        Link::Sub("notification_templates_error"),
        // AWX shows `credentials` only until the source has run.
        Link::Sub("credentials"),
    ],
    summary: &["id", "name", "source", "last_updated", "status"],
    roles: &[],
    access: Access {
        read: Read::ViaFk("inventory", "read_role"),
        change: Change::ViaFk("inventory", "admin_role"),
        create: Create::FkRole("inventory", "admin_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("inventory"),
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
