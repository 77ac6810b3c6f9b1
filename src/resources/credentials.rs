//! Credentials: secrets jobs, projects, inventory sources and execution
//! environments authenticate with.

use crate::resource::{
    Access, Change, Column, CopyPart, Copying, Create, Default, Deletion, Field, Link, Read,
    Resource, RoleDecl, RoleRef, Storage,
};

const FIELDS: &[Field] = &[
    // Create-only owners, as AWX takes them: exactly one of user, team or
    // organization. They become grants of the credential's admin role.
    Field::fk("user", "User", "user", "user")
        .write_only()
        .create_only()
        .nullable()
        .default(Default::Null)
        .column(Column::Virtual)
        .help("Write-only field used to add a user to the owner role."),
    Field::fk("team", "Team", "team", "team")
        .write_only()
        .create_only()
        .nullable()
        .default(Default::Null)
        .column(Column::Virtual)
        .help("Write-only field used to add a team to the owner role."),
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    Field::fk(
        "organization",
        "Organization",
        "organization",
        "organization_id",
    )
    .nullable()
    .default(Default::Null),
    Field::fk(
        "credential_type",
        "Credential Type",
        "credential_type",
        "credential_type_id",
    )
    .required()
    .help("Specify the type of credential you want to create. Refer to the documentation for details on each type."),
    Field::boolean("managed", "Managed").read_only(),
    Field::json("inputs", "Inputs")
        .default(Default::EmptyObject)
        .help("Enter inputs using either JSON or YAML syntax. Refer to the documentation for example syntax."),
    // AWX's `Credential.kind` is the type's namespace (`ssh`, `aws`, ...).
    Field::text("kind", "Kind")
        .read_only()
        .nullable()
        .unfilterable()
        .column(Column::Computed(
            "SELECT ct.namespace FROM credential_types ct WHERE ct.id = {o}.credential_type_id",
        )),
    Field::boolean("cloud", "Cloud")
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "SELECT ct.kind = 'cloud' FROM credential_types ct WHERE ct.id = {o}.credential_type_id",
        )),
    Field::boolean("kubernetes", "Kubernetes")
        .read_only()
        .unfilterable()
        .column(Column::Computed(
            "SELECT ct.kind = 'kubernetes' FROM credential_types ct WHERE ct.id = {o}.credential_type_id",
        )),
];

const ROLES: &[RoleDecl] = &[
    RoleDecl {
        field: "admin_role",
        name: "Admin",
        description: "Can manage all aspects of the credential",
        parents: &[RoleRef::Fk("organization", "credential_admin_role")],
    },
    RoleDecl {
        field: "use_role",
        name: "Use",
        description: "Can use the credential in a job template",
        parents: &[RoleRef::Own("admin_role")],
    },
    RoleDecl {
        field: "read_role",
        name: "Read",
        description: "May view settings for the credential",
        parents: &[
            RoleRef::Fk("organization", "auditor_role"),
            RoleRef::Own("use_role"),
        ],
    },
];

/// `/api/v2/credentials/`.
pub const CREDENTIAL: Resource = Resource {
    type_name: "credential",
    path: "credentials",
    display: "Credential",
    storage: Storage::Table("credentials"),
    fields: FIELDS,
    ordering: &["name"],
    search: &["name", "description"],
    links: &[
        Link::Fk("organization"),
        Link::Fk("credential_type"),
        Link::Sub("activity_stream"),
        Link::Sub("access_list"),
        Link::Sub("object_roles"),
        Link::Sub("owner_users"),
        Link::Sub("owner_teams"),
        Link::Sub("input_sources"),
    ],
    summary: &[
        "id",
        "name",
        "description",
        "kind",
        "cloud",
        "kubernetes",
        "credential_type_id:credential_type_id",
    ],
    roles: ROLES,
    access: Access {
        read: Read::OwnRole("read_role"),
        change: Change::OwnRole("admin_role"),
        // Organization credentials need its credential admin role; personal
        // and team ones their owner (see rbac::custom_create).
        create: Create::Custom,
    },
    // `<name>++<type name>+<type kind>++<org name>`: special code.
    named_url: None,
    deletion: Deletion::Immediate,
    tracks_users: true,
    // Inputs are copied as stored: a secret's ciphertext is bound to its
    // input's name, not to the credential, so it decrypts under the copy.
    copy: Some(Copying {
        keep: &[],
        discard: &[],
        uses: &[],
        parts: &[CopyPart::InputSources],
        workflow_form: false,
    }),
};
