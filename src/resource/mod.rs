//! Resources declared once: fields, storage, relations, links and access
//! rules. The declaration drives listing, filtering, validation,
//! serialization, OPTIONS metadata and RBAC; no resource has its own copy of
//! that logic.

pub mod field;
pub mod filter;
pub mod validate;

pub use field::{Column, Default, Field, Kind};

/// Where a resource's rows live.
#[derive(Debug, Clone, Copy)]
pub enum Storage {
    /// One table.
    Table(&'static str),
    /// A kind table whose id is also the id of a row in a shared parent table
    /// (AWX's unified job templates and unified jobs).
    Inherited {
        parent: &'static str,
        child: &'static str,
        kind: &'static str,
    },
}

impl Storage {
    /// The table that holds the `id` and the common columns.
    pub fn base_table(&self) -> &'static str {
        match self {
            Storage::Table(table) => table,
            Storage::Inherited { parent, .. } => parent,
        }
    }
}

/// A role an object of this resource carries, and the roles that imply it.
#[derive(Debug, Clone, Copy)]
pub struct RoleDecl {
    pub field: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub parents: &'static [RoleRef],
}

/// A role that implies another.
#[derive(Debug, Clone, Copy)]
pub enum RoleRef {
    /// Another role of the same object.
    Own(&'static str),
    /// A role of the object a foreign-key field points to.
    Fk(&'static str, &'static str),
}

/// Who may see an object.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// Holders of this role of the object.
    OwnRole(&'static str),
    /// Holders of this role of the object the field points to.
    ViaFk(&'static str, &'static str),
    /// Any authenticated user.
    Anyone,
    /// Superusers and system auditors only.
    SystemOnly,
    /// Decided by the resource's own code (users, tokens).
    Custom,
}

/// Who may change or delete an object.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    OwnRole(&'static str),
    ViaFk(&'static str, &'static str),
    SuperuserOnly,
    Custom,
}

/// Who may create an object.
#[derive(Debug, Clone, Copy)]
pub enum Create {
    SuperuserOnly,
    /// Holders of this role of the object the new one's field points to.
    FkRole(&'static str, &'static str),
    Custom,
    /// Not through the generic POST (read-only lists, special endpoints).
    Never,
}

/// The access rules of a resource.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub read: Read,
    pub change: Change,
    pub create: Create,
}

/// A link in `related`.
#[derive(Debug, Clone, Copy)]
pub enum Link {
    /// `<own url><name>/`.
    Sub(&'static str),
    /// The URL of the object a foreign-key field points to.
    Fk(&'static str),
}

/// How a named URL slug identifies an object: its own field, then the named
/// URL of the object a foreign key points to (`Web++Default`).
#[derive(Debug, Clone, Copy)]
pub struct NamedUrl {
    pub field: &'static str,
    pub parent: Option<&'static str>,
}

/// What DELETE answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// 204, the row is gone.
    Immediate,
    /// 202, as AWX answers for inventories (whose deletion it runs in the
    /// background); rawx deletes at once.
    Accepted,
    /// Not deletable through the API.
    Forbidden,
}

/// What `/copy/` carries over besides the declared fields (AWX's
/// `FIELDS_TO_PRESERVE_AT_COPY` that are not plain fields).
#[derive(Debug, Clone, Copy)]
pub enum CopyPart {
    /// Columns no field declares, copied as stored (a survey spec).
    Columns {
        table: &'static str,
        columns: &'static [&'static str],
    },
    /// Rows of a join table, pointed at the copy. With `needs`, the caller
    /// must hold that `(content type, role)` of every linked object, as AWX
    /// asks of a job template's credentials.
    Links {
        table: &'static str,
        owner: &'static str,
        columns: &'static [&'static str],
        needs: Option<(&'static str, &'static str)>,
    },
    /// An inventory's groups and hosts with their variables, and which
    /// hosts and groups each group holds.
    InventoryContents,
    /// A credential's input sources.
    InputSources,
}

/// How objects are copied through `/api/v2/<path>/N/copy/` (AWX's
/// `CopyAPIView`): every writable field of the original except its name,
/// plus what is declared here.
#[derive(Debug, Clone, Copy)]
pub struct Copying {
    /// Read-only fields the copy still takes from the original.
    pub keep: &'static [&'static str],
    /// Writable fields the copy leaves at their defaults (AWX's
    /// `FIELDS_TO_DISCARD_AT_COPY`).
    pub discard: &'static [&'static str],
    /// `(field, role)`: what the copy points to that the caller must hold a
    /// role of, beyond the resource's create rule.
    pub uses: &'static [(&'static str, &'static str)],
    pub parts: &'static [CopyPart],
    /// `GET` answers in the workflow form, with the lists of what the caller
    /// cannot use; otherwise only `can_copy`.
    pub workflow_form: bool,
}

/// One API resource.
#[derive(Debug)]
pub struct Resource {
    /// The `type` of its objects (`job_template`).
    pub type_name: &'static str,
    /// The URL segment of its list (`job_templates`).
    pub path: &'static str,
    /// Human name for OPTIONS (`Job Template`).
    pub display: &'static str,
    pub storage: Storage,
    pub fields: &'static [Field],
    /// Default `order_by`.
    pub ordering: &'static [&'static str],
    /// Fields `search=` looks in.
    pub search: &'static [&'static str],
    pub links: &'static [Link],
    /// Fields shown when another object summarizes this one.
    pub summary: &'static [&'static str],
    pub roles: &'static [RoleDecl],
    pub access: Access,
    pub named_url: Option<NamedUrl>,
    pub deletion: Deletion,
    /// Whether rows carry `created_by`/`modified_by`.
    pub tracks_users: bool,
    /// Whether and how objects are copied (`related.copy`).
    pub copy: Option<Copying>,
}

impl Resource {
    /// A field by API name, including the `id`, `created` and `modified`
    /// every resource has.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        match name {
            "id" => Some(&field::ID),
            "created" => Some(&field::CREATED),
            "modified" => Some(&field::MODIFIED),
            "created_by" if self.tracks_users => Some(&field::CREATED_BY),
            "modified_by" if self.tracks_users => Some(&field::MODIFIED_BY),
            _ => self
                .fields
                .iter()
                .find(|field| field.name == name && !field.internal),
        }
    }

    /// The URL of the list.
    pub fn list_url(&self) -> String {
        format!("/api/v2/{}/", self.path)
    }

    /// The URL of one object.
    pub fn url(&self, id: i64) -> String {
        format!("/api/v2/{}/{id}/", self.path)
    }

    /// A field by name, internal ones included: for the resource's own code.
    pub fn own_field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The role fields objects carry, for OPTIONS and `object_roles`.
    pub fn role_fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.roles.iter().map(|role| role.field)
    }
}
