//! Job templates: a playbook of a project run against an inventory, a kind
//! of unified job template.

use crate::resource::{
    Access, Change, CopyPart, Copying, Create, Default, Deletion, Field, Link, NamedUrl, Read,
    Resource, RoleDecl, RoleRef, Storage,
};

/// AWX's `NEW_JOB_TYPE_CHOICES`.
pub const JOB_TYPES: &[(&str, &str)] = &[("run", "Run"), ("check", "Check")];

/// AWX's `VERBOSITY_CHOICES`.
pub const VERBOSITY: &[(i64, &str)] = &[
    (0, "0 (Normal)"),
    (1, "1 (Verbose)"),
    (2, "2 (More Verbose)"),
    (3, "3 (Debug)"),
    (4, "4 (Connection Debug)"),
    (5, "5 (WinRM Debug)"),
];

/// AWX's `WebhookTemplateMixin.SERVICES`, with the blank choice its
/// OPTIONS adds.
pub const WEBHOOK_SERVICES: &[(&str, &str)] = &[
    ("", "---------"),
    ("github", "GitHub"),
    ("gitlab", "GitLab"),
    ("bitbucket_dc", "BitBucket DataCenter"),
];

/// Bounds of a Django `IntegerField`.
pub const INT_MIN: i64 = -2_147_483_648;
/// Bounds of a Django `IntegerField` / `PositiveIntegerField`.
pub const INT_MAX: i64 = 2_147_483_647;

const fn ask(name: &'static str, label: &'static str) -> Field {
    Field::boolean(name, label)
}

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required().in_parent(),
    Field::text("description", "Description").in_parent(),
    Field::choice("job_type", "Job type", JOB_TYPES).default(Default::Str("run")),
    Field::fk("inventory", "Inventory", "inventory", "inventory_id")
        .nullable()
        .default(Default::Null),
    // AWX's column is nullable but its serializer insists on a project.
    Field::fk("project", "Project", "project", "project_id")
    .nullable()
    .default(Default::Null),
    Field::string("playbook", "Playbook", 1024),
    Field::string("scm_branch", "Scm branch", 1024)
        .help("Branch to use in job run. Project default used if blank. Only allowed if project allow_override field is set to true."),
    Field::int("forks", "Forks")
        .bounds(Some(0), Some(INT_MAX))
        .default(Default::Int(0)),
    Field::text("limit", "Limit"),
    Field::int_choice("verbosity", "Verbosity", VERBOSITY).default(Default::Int(0)),
    Field::vars("extra_vars", "Extra vars"),
    Field::text("job_tags", "Job tags"),
    Field::boolean("force_handlers", "Force handlers"),
    Field::string("skip_tags", "Skip tags", 1024),
    Field::string("start_at_task", "Start at task", 1024),
    Field::int("timeout", "Timeout")
        .bounds(Some(INT_MIN), Some(INT_MAX))
        .default(Default::Int(0))
        .help("The amount of time (in seconds) to run before the task is canceled."),
    Field::boolean("use_fact_cache", "Use fact cache")
        .help("If enabled, the service will act as an Ansible Fact Cache Plugin; persisting facts at the end of a playbook run to the database and caching facts for use by Ansible."),
    // Derived from the project by the template's own code.
    Field::fk(
        "organization",
        "Organization",
        "organization",
        "organization_id",
    )
    .read_only()
    .nullable()
    .in_parent()
    .help("The organization used to determine access to this template."),
    Field::datetime("last_job_run", "Last job run").in_parent(),
    Field::boolean("last_job_failed", "Last job failed")
        .read_only()
        .in_parent(),
    Field::datetime("next_job_run", "Next job run").in_parent(),
    Field::choice("status", "Status", crate::resources::projects::COMMON_STATUS)
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
    Field::string("host_config_key", "Host config key", 1024),
    ask("ask_scm_branch_on_launch", "Ask scm branch on launch"),
    ask("ask_diff_mode_on_launch", "Ask diff mode on launch"),
    ask("ask_variables_on_launch", "Ask variables on launch"),
    ask("ask_limit_on_launch", "Ask limit on launch"),
    ask("ask_tags_on_launch", "Ask tags on launch"),
    ask("ask_skip_tags_on_launch", "Ask skip tags on launch"),
    ask("ask_job_type_on_launch", "Ask job type on launch"),
    ask("ask_verbosity_on_launch", "Ask verbosity on launch"),
    ask("ask_inventory_on_launch", "Ask inventory on launch"),
    ask("ask_credential_on_launch", "Ask credential on launch"),
    ask(
        "ask_execution_environment_on_launch",
        "Ask execution environment on launch",
    ),
    ask("ask_labels_on_launch", "Ask labels on launch"),
    ask("ask_forks_on_launch", "Ask forks on launch"),
    ask("ask_job_slice_count_on_launch", "Ask job slice count on launch"),
    ask("ask_timeout_on_launch", "Ask timeout on launch"),
    ask("ask_instance_groups_on_launch", "Ask instance groups on launch"),
    Field::boolean("survey_enabled", "Survey enabled"),
    Field::boolean("become_enabled", "Become enabled"),
    Field::boolean("diff_mode", "Diff mode")
        .help("If enabled, textual changes made to any templated files on the host are shown in the standard output"),
    Field::boolean("allow_simultaneous", "Allow simultaneous"),
    Field::string("custom_virtualenv", "Custom virtualenv", 100)
        .read_only()
        .nullable()
        .help("Local absolute file path containing a custom Python virtualenv to use"),
    Field::int("job_slice_count", "Job slice count")
        .bounds(Some(1), Some(INT_MAX))
        .default(Default::Int(1))
        .help("The number of jobs to slice into at runtime. Will cause the Job Template to launch a workflow if value is greater than 1."),
    Field::choice("webhook_service", "Webhook service", WEBHOOK_SERVICES)
        .default(Default::Str(""))
        .help("Service that webhook requests will be accepted from"),
    Field::fk(
        "webhook_credential",
        "Webhook credential",
        "credential",
        "webhook_credential_id",
    )
    .nullable()
    .default(Default::Null)
    .help("Personal Access Token for posting back the status to the service API"),
    Field::boolean(
        "prevent_instance_group_fallback",
        "Prevent instance group fallback",
    )
    .help("If enabled, the job template will prevent adding any inventory or organization instance groups to the list of preferred instances groups to run on.If this setting is enabled and you provided an empty list, the global instance groups will be applied."),
];

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the job template",
        parents: &[RoleRef::Fk("organization", "job_template_admin_role")],
    },
    RoleDecl {
        field: "execute_role",
        name: "Execute",
        description: "May run the job template",
        parents: &[
            RoleRef::Own("admin_role"),
            RoleRef::Fk("organization", "execute_role"),
        ],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the job template",
        parents: &[
            RoleRef::Fk("organization", "auditor_role"),
            RoleRef::Own("execute_role"),
        ],
    },
];

/// `/api/v2/job_templates/`.
pub const JOB_TEMPLATE: Resource = Resource {
    type_name: "job_template",
    path: "job_templates",
    display: "Job Template",
    storage: Storage::Inherited {
        parent: "unified_job_templates",
        child: "job_templates",
        kind: "job_template",
    },
    fields: FIELDS,
    ordering: &["name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("inventory"),
        Link::Fk("project"),
        Link::Fk("organization"),
        Link::Fk("execution_environment"),
        Link::Fk("webhook_credential"),
        Link::Sub("labels"),
        Link::Sub("credentials"),
        Link::Sub("jobs"),
        Link::Sub("schedules"),
        Link::Sub("activity_stream"),
        Link::Sub("launch"),
        Link::Sub("webhook_key"),
        Link::Sub("notification_templates_started"),
        Link::Sub("notification_templates_success"),
        Link::Sub("notification_templates_error"),
        Link::Sub("access_list"),
        Link::Sub("survey_spec"),
        Link::Sub("object_roles"),
        Link::Sub("instance_groups"),
        Link::Sub("slice_workflow_jobs"),
    ],
    summary: &["id", "name", "description"],
    roles: ROLES,
    access: Access {
        read: Read::OwnRole("read_role"),
        change: Change::OwnRole("admin_role"),
        create: Create::FkRole("project", "use_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("organization"),
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: Some(Copying {
        // Follows the project; the copy hook derives it again.
        keep: &["organization"],
        discard: &[],
        uses: &[("inventory", "use_role")],
        parts: &[
            CopyPart::Columns {
                table: "job_templates",
                columns: &["survey_spec"],
            },
            CopyPart::Links {
                table: "job_template_credentials",
                owner: "job_template_id",
                columns: &["credential_id"],
                needs: Some(("credential", "use_role")),
            },
            CopyPart::Links {
                table: "job_template_labels",
                owner: "job_template_id",
                columns: &["label_id"],
                needs: None,
            },
            CopyPart::Links {
                table: "job_template_instance_groups",
                owner: "job_template_id",
                columns: &["instance_group_id", "position"],
                needs: None,
            },
        ],
        workflow_form: false,
    }),
};
