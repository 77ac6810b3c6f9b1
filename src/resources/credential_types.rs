//! Credential types: the schemas credentials are filled from. Managed types
//! are kept in step by the application at start-up.

use crate::resource::{
    Access, Change, Create, Default, Deletion, Field, Link, Read, Resource, Storage,
};

/// AWX's `CredentialType.KIND_CHOICES`.
pub const KINDS: &[(&str, &str)] = &[
    ("ssh", "Machine"),
    ("vault", "Vault"),
    ("net", "Network"),
    ("scm", "Source Control"),
    ("cloud", "Cloud"),
    ("registry", "Container Registry"),
    ("token", "Personal Access Token"),
    ("insights", "Insights"),
    ("external", "External"),
    ("kubernetes", "Kubernetes"),
    ("galaxy", "Galaxy/Automation Hub"),
    ("cryptography", "Cryptography"),
];

const FIELDS: &[Field] = &[
    Field::string("name", "Name", 512).required(),
    Field::text("description", "Description"),
    Field::choice("kind", "Kind", KINDS).required(),
    Field::string("namespace", "Namespace", 1024)
        .read_only()
        .nullable(),
    Field::boolean("managed", "Managed").read_only(),
    Field::json("inputs", "Inputs")
        .default(Default::EmptyObject)
        .help("Enter inputs using either JSON or YAML syntax. Refer to the documentation for example syntax."),
    Field::json("injectors", "Injectors")
        .default(Default::EmptyObject)
        .help("Enter injectors using either JSON or YAML syntax. Refer to the documentation for example syntax."),
];

/// `/api/v2/credential_types/`.
pub const CREDENTIAL_TYPE: Resource = Resource {
    type_name: "credential_type",
    path: "credential_types",
    display: "Credential Type",
    storage: Storage::Table("credential_types"),
    fields: FIELDS,
    ordering: &["kind", "name"],
    search: &["name", "description"],
    links: &[Link::Sub("credentials"), Link::Sub("activity_stream")],
    summary: &["id", "name", "description"],
    roles: &[],
    access: Access {
        read: Read::Anyone,
        change: Change::SuperuserOnly,
        create: Create::SuperuserOnly,
    },
    // `<name>+<kind>`: resolved by special code, not the generic lookup.
    named_url: None,
    deletion: Deletion::Immediate,
    tracks_users: true,
    copy: None,
};
