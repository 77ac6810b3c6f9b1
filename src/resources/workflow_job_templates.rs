//! Workflow job templates: graphs of templates run in order, a kind of
//! unified job template.

use crate::resource::{
    Access, Change, CopyPart, Copying, Create, Default, Deletion, Field, Link, NamedUrl, Read,
    Resource, RoleDecl, RoleRef, Storage,
};
use crate::resources::job_templates::WEBHOOK_SERVICES;

/// AWX's `UnifiedJobTemplate.ALL_STATUS_CHOICES`, the model's status choices.
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
    ("ok", "OK"),
    ("missing", "Missing"),
    ("none", "No External Source"),
    ("updating", "Updating"),
];

/// A prompt AWX keeps as "not set" (null) until given.
const fn char_prompt(name: &'static str, label: &'static str) -> Field {
    Field::text(name, label).nullable().default(Default::Null)
}

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required().in_parent(),
    Field::text("description", "Description").in_parent(),
    Field::datetime("last_job_run", "Last job run").in_parent(),
    Field::boolean("last_job_failed", "Last job failed")
        .read_only()
        .in_parent(),
    Field::datetime("next_job_run", "Next job run").in_parent(),
    Field::choice("status", "Status", STATUS)
        .read_only()
        .in_parent(),
    Field::vars("extra_vars", "Extra vars"),
    Field::fk(
        "organization",
        "Organization",
        "organization",
        "organization_id",
    )
    .nullable()
    .default(Default::Null)
    .in_parent()
    .help("The organization used to determine access to this template."),
    Field::boolean("survey_enabled", "Survey enabled"),
    Field::boolean("allow_simultaneous", "Allow simultaneous"),
    Field::boolean("ask_variables_on_launch", "Ask variables on launch"),
    Field::fk("inventory", "Inventory", "inventory", "inventory_id")
        .nullable()
        .default(Default::Null)
        .help("Inventory applied as a prompt, assuming job template prompts for inventory"),
    char_prompt("limit", "Limit"),
    char_prompt("scm_branch", "Scm branch"),
    Field::boolean("ask_inventory_on_launch", "Ask inventory on launch"),
    Field::boolean("ask_scm_branch_on_launch", "Ask scm branch on launch"),
    Field::boolean("ask_limit_on_launch", "Ask limit on launch"),
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
    Field::boolean("ask_labels_on_launch", "Ask labels on launch"),
    Field::boolean("ask_skip_tags_on_launch", "Ask skip tags on launch"),
    Field::boolean("ask_tags_on_launch", "Ask tags on launch"),
    char_prompt("skip_tags", "Skip tags"),
    char_prompt("job_tags", "Job tags"),
];

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the workflow job template",
        parents: &[RoleRef::Fk("organization", "workflow_admin_role")],
    },
    RoleDecl {
        field: "execute_role",
        name: "Execute",
        description: "May run the workflow job template",
        parents: &[
            RoleRef::Own("admin_role"),
            RoleRef::Fk("organization", "execute_role"),
        ],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the workflow job template",
        parents: &[
            RoleRef::Fk("organization", "auditor_role"),
            RoleRef::Own("execute_role"),
            RoleRef::Own("approval_role"),
        ],
    },
    RoleDecl {
        field: "approval_role",
        name: "Approve",
        description: "Can approve or deny a workflow approval node",
        parents: &[
            RoleRef::Fk("organization", "approval_role"),
            RoleRef::Own("admin_role"),
        ],
    },
];

/// `/api/v2/workflow_job_templates/`.
pub const WORKFLOW_JOB_TEMPLATE: Resource = Resource {
    type_name: "workflow_job_template",
    path: "workflow_job_templates",
    display: "Workflow Job Template",
    storage: Storage::Inherited {
        parent: "unified_job_templates",
        child: "workflow_job_templates",
        kind: "workflow_job_template",
    },
    fields: FIELDS,
    ordering: &["name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("organization"),
        Link::Fk("inventory"),
        Link::Fk("webhook_credential"),
        Link::Sub("workflow_jobs"),
        Link::Sub("schedules"),
        Link::Sub("launch"),
        Link::Sub("webhook_key"),
        Link::Sub("workflow_nodes"),
        Link::Sub("labels"),
        Link::Sub("activity_stream"),
        Link::Sub("notification_templates_started"),
        Link::Sub("notification_templates_success"),
        Link::Sub("notification_templates_error"),
        Link::Sub("notification_templates_approvals"),
        Link::Sub("access_list"),
        Link::Sub("object_roles"),
        Link::Sub("survey_spec"),
    ],
    summary: &["id", "name", "description"],
    roles: ROLES,
    access: Access {
        read: Read::OwnRole("read_role"),
        change: Change::OwnRole("admin_role"),
        create: Create::FkRole("organization", "workflow_admin_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("organization"),
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: Some(Copying {
        keep: &[],
        discard: &[],
        uses: &[("inventory", "use_role")],
        parts: &[
            CopyPart::Columns {
                table: "workflow_job_templates",
                columns: &["survey_spec"],
            },
            CopyPart::Links {
                table: "workflow_job_template_labels",
                owner: "workflow_job_template_id",
                columns: &["label_id"],
                needs: None,
            },
        ],
        workflow_form: true,
    }),
};
