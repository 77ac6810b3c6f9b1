//! Projects: playbook sources (SCM checkouts or manual directories), a kind
//! of unified job template.

use crate::resource::{
    Access, Change, Column, Copying, Create, Default, Deletion, Field, Link, NamedUrl, Read,
    Resource, RoleDecl, RoleRef, Storage,
};

/// AWX's `Project.SCM_TYPE_CHOICES`.
pub const SCM_TYPES: &[(&str, &str)] = &[
    ("", "Manual"),
    ("git", "Git"),
    ("svn", "Subversion"),
    ("insights", "Red Hat Insights"),
    ("archive", "Remote Archive"),
];

/// AWX's `JOB_STATUS_CHOICES` plus `never updated`: what a template's
/// status can be.
pub const COMMON_STATUS: &[(&str, &str)] = &[
    ("new", "New"),
    ("pending", "Pending"),
    ("waiting", "Waiting"),
    ("running", "Running"),
    ("successful", "Successful"),
    ("failed", "Failed"),
    ("error", "Error"),
    ("canceled", "Canceled"),
    ("never updated", "Never Updated"),
];

/// AWX's `PROJECT_STATUS_CHOICES`.
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
];

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required().in_parent(),
    Field::text("description", "Description").in_parent(),
    Field::string("local_path", "Local path", 1024)
        .help("Local path (relative to PROJECTS_ROOT) containing playbooks and related files for this project."),
    Field::choice("scm_type", "SCM Type", SCM_TYPES)
        .default(Default::Str(""))
        .help("Specifies the source control system used to store the project."),
    Field::string("scm_url", "SCM URL", 1024).help("The location where the project is stored."),
    Field::string("scm_branch", "SCM Branch", 256)
        .help("Specific branch, tag or commit to checkout."),
    Field::string("scm_refspec", "SCM refspec", 1024)
        .help("For git projects, an additional refspec to fetch."),
    Field::boolean("scm_clean", "Scm clean")
        .help("Discard any local changes before syncing the project."),
    Field::boolean("scm_track_submodules", "Scm track submodules")
        .help("Track submodules latest commits on defined branch."),
    Field::boolean("scm_delete_on_update", "Scm delete on update")
        .help("Delete the project before syncing."),
    Field::fk("credential", "Credential", "credential", "credential_id")
        .nullable()
        .default(Default::Null),
    Field::int("timeout", "Timeout")
        .default(Default::Int(0))
        .help("The amount of time (in seconds) to run before the task is canceled."),
    Field::string("scm_revision", "SCM Revision", 1024)
        .read_only()
        .help("The last revision fetched by a project update"),
    Field::datetime("last_job_run", "Last job run").in_parent(),
    Field::boolean("last_job_failed", "Last job failed")
        .read_only()
        .in_parent(),
    Field::datetime("next_job_run", "Next job run").in_parent(),
    Field::choice("status", "Status", STATUS)
        .read_only()
        .in_parent(),
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
    Field::boolean("scm_update_on_launch", "Scm update on launch")
        .help("Update the project when a job is launched that uses the project."),
    Field::int("scm_update_cache_timeout", "Scm update cache timeout")
        .bounds(Some(0), Some(2_147_483_647))
        .default(Default::Int(0))
        .help("The number of seconds after the last project update ran that a new project update will be launched as a job dependency."),
    Field::boolean("allow_override", "Allow override")
        .help("Allow changing the SCM branch or revision in a job template that uses this project."),
    Field::string("custom_virtualenv", "Custom virtualenv", 100)
        .read_only()
        .nullable()
        .help("Local absolute file path containing a custom Python virtualenv to use"),
    Field::fk(
        "default_environment",
        "Default environment",
        "execution_environment",
        "default_environment_id",
    )
    .nullable()
    .default(Default::Null)
    .help("The default execution environment for jobs run using this project."),
    Field::fk(
        "signature_validation_credential",
        "Signature validation credential",
        "credential",
        "signature_validation_credential_id",
    )
    .nullable()
    .default(Default::Null)
    .help("An optional credential used for validating files in the project against unexpected changes."),
    Field::boolean("last_update_failed", "Last update failed")
        .read_only()
        .unfilterable()
        .column(Column::Computed("{p}.last_job_failed")),
    Field::datetime("last_updated", "Last updated").unfilterable()
        .column(Column::Computed("{p}.last_job_run")),
];

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the project",
        parents: &[RoleRef::Fk("organization", "project_admin_role")],
    },
    RoleDecl {
        field: "use_role",
        name: "Use",
        description: "Can use the project in a job template",
        parents: &[RoleRef::Own("admin_role")],
    },
    RoleDecl {
        field: "update_role",
        name: "Update",
        description: "May update the project",
        parents: &[RoleRef::Own("admin_role")],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the project",
        parents: &[
            RoleRef::Fk("organization", "auditor_role"),
            RoleRef::Own("use_role"),
            RoleRef::Own("update_role"),
        ],
    },
];

/// `/api/v2/projects/`.
pub const PROJECT: Resource = Resource {
    type_name: "project",
    path: "projects",
    display: "Project",
    storage: Storage::Inherited {
        parent: "unified_job_templates",
        child: "projects",
        kind: "project",
    },
    fields: FIELDS,
    ordering: &["id"],
    search: &["name", "description"],
    links: &[
        Link::Fk("organization"),
        Link::Fk("credential"),
        Link::Fk("default_environment"),
        Link::Fk("signature_validation_credential"),
        Link::Sub("teams"),
        Link::Sub("playbooks"),
        Link::Sub("inventory_files"),
        Link::Sub("update"),
        Link::Sub("project_updates"),
        Link::Sub("scm_inventory_sources"),
        Link::Sub("schedules"),
        Link::Sub("activity_stream"),
        Link::Sub("notification_templates_started"),
        Link::Sub("notification_templates_success"),
        Link::Sub("notification_templates_error"),
        Link::Sub("access_list"),
        Link::Sub("object_roles"),
    ],
    summary: &[
        "id",
        "name",
        "description",
        "status",
        "scm_type",
        "allow_override",
    ],
    roles: ROLES,
    access: Access {
        read: Read::OwnRole("read_role"),
        change: Change::OwnRole("admin_role"),
        create: Create::FkRole("organization", "project_admin_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: Some("organization"),
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: Some(Copying {
        keep: &[],
        // A copy of a manual project does not take over its directory.
        discard: &["local_path"],
        uses: &[("credential", "use_role")],
        parts: &[],
        workflow_form: false,
    }),
};
