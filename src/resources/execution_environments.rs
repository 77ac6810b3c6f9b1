//! Execution environments: the container images jobs run in.

use crate::resource::{
    Access, Change, Copying, Create, Default, Deletion, Field, Link, NamedUrl, Read, Resource,
    Storage,
};

/// AWX's `ExecutionEnvironment.PULL_CHOICES`, with the blank choice its
/// OPTIONS adds.
const PULL: &[(&str, &str)] = &[
    ("", "---------"),
    ("always", "Always pull container before running."),
    (
        "missing",
        "Only pull the image if not present before running.",
    ),
    ("never", "Never pull container before running."),
];

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    Field::fk(
        "organization",
        "Organization",
        "organization",
        "organization_id",
    )
    .nullable()
    .default(Default::Null)
    .help("The organization used to determine access to this execution environment."),
    Field::string("image", "Image location", 1024)
        .required()
        .help("The full image location, including the container registry, image name, and version tag."),
    Field::boolean("managed", "Managed").read_only(),
    Field::fk("credential", "Credential", "credential", "credential_id")
        .nullable()
        .default(Default::Null),
    Field::choice("pull", "Pull", PULL)
        .default(Default::Str(""))
        .help("Pull image before running?"),
];

/// `/api/v2/execution_environments/`.
pub const EXECUTION_ENVIRONMENT: Resource = Resource {
    type_name: "execution_environment",
    path: "execution_environments",
    display: "Execution Environment",
    storage: Storage::Table("execution_environments"),
    fields: FIELDS,
    ordering: &["-created"],
    search: &["name", "description"],
    links: &[
        Link::Fk("organization"),
        Link::Fk("credential"),
        Link::Sub("activity_stream"),
        Link::Sub("unified_job_templates"),
    ],
    summary: &["id", "name", "description", "image"],
    roles: &[],
    access: Access {
        // AWX: global ones, and those of organizations the user can read.
        read: Read::Anyone,
        // AWX: the organization's execution environment admins; global
        // ones (no organization) are the superuser's.
        change: Change::ViaFk("organization", "execution_environment_admin_role"),
        create: Create::FkRole("organization", "execution_environment_admin_role"),
    },
    named_url: Some(NamedUrl {
        field: "name",
        parent: None,
    }),
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: Some(Copying {
        keep: &[],
        discard: &[],
        uses: &[],
        parts: &[],
        workflow_form: false,
    }),
};
