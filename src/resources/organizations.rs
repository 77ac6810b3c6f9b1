//! Organizations: the top of AWX's ownership tree.

use crate::resource::{
    Access, Change, Create, Default, Deletion, Field, Link, NamedUrl, Read, Resource, RoleDecl,
    RoleRef, Storage,
};

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    Field::int("max_hosts", "Max hosts")
        .bounds(Some(0), Some(2_147_483_647))
        .default(Default::Int(0))
        .help("Maximum number of hosts allowed to be managed by this organization."),
    Field::string("custom_virtualenv", "Custom virtualenv", 100)
        .read_only()
        .nullable()
        .help("Local absolute file path containing a custom Python virtualenv to use"),
    Field::fk(
        "default_environment",
        "Default Execution Environment",
        "execution_environment",
        "default_environment_id",
    )
    .nullable()
    .default(Default::Null)
    .help("The default execution environment for jobs run by this organization."),
];

const ADMIN: RoleRef = RoleRef::Own("admin_role");

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the organization",
        parents: &[],
    },
    RoleDecl {
        field: "execute_role",
        name: "Execute",
        description: "May run any executable resources in the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "project_admin_role",
        name: "Project Admin",
        description: "Can manage all projects of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "inventory_admin_role",
        name: "Inventory Admin",
        description: "Can manage all inventories of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "credential_admin_role",
        name: "Credential Admin",
        description: "Can manage all credentials of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "workflow_admin_role",
        name: "Workflow Admin",
        description: "Can manage all workflows of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "notification_admin_role",
        name: "Notification Admin",
        description: "Can manage all notifications of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "job_template_admin_role",
        name: "Job Template Admin",
        description: "Can manage all job templates of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "execution_environment_admin_role",
        name: "Execution Environment Admin",
        description: "Can manage all execution environments of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "auditor_role",
        name: "Auditor",
        description: "Can view all aspects of the organization",
        parents: &[],
    },
    RoleDecl {
        field: "member_role",
        name: "Member",
        description: "User is a member of the organization",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "approval_role",
        name: "Approve",
        description: "Can approve or deny a workflow approval node",
        parents: &[ADMIN],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the organization",
        parents: &[
            RoleRef::Own("member_role"),
            RoleRef::Own("auditor_role"),
            RoleRef::Own("execute_role"),
            RoleRef::Own("project_admin_role"),
            RoleRef::Own("inventory_admin_role"),
            RoleRef::Own("workflow_admin_role"),
            RoleRef::Own("notification_admin_role"),
            RoleRef::Own("credential_admin_role"),
            RoleRef::Own("job_template_admin_role"),
            RoleRef::Own("approval_role"),
            RoleRef::Own("execution_environment_admin_role"),
        ],
    },
];

/// `/api/v2/organizations/`.
pub const ORGANIZATION: Resource = Resource {
    type_name: "organization",
    path: "organizations",
    display: "Organization",
    storage: Storage::Table("organizations"),
    fields: FIELDS,
    ordering: &["name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("default_environment"),
        Link::Sub("execution_environments"),
        Link::Sub("projects"),
        Link::Sub("inventories"),
        Link::Sub("job_templates"),
        Link::Sub("workflow_job_templates"),
        Link::Sub("users"),
        Link::Sub("admins"),
        Link::Sub("teams"),
        Link::Sub("credentials"),
        Link::Sub("applications"),
        Link::Sub("activity_stream"),
        Link::Sub("notification_templates"),
        Link::Sub("object_roles"),
        Link::Sub("access_list"),
        Link::Sub("instance_groups"),
        Link::Sub("galaxy_credentials"),
    ],
    summary: &["id", "name", "description"],
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
    tracks_users: true,
    copy: None,
};
