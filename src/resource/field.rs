//! Fields of a resource: type, constraints, defaults and visibility.

/// The type of a field, as the API speaks it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Text with an optional maximum length.
    Str(Option<u32>),
    /// An integer with optional bounds.
    Int(Option<i64>, Option<i64>),
    Bool,
    Float,
    /// Text restricted to `(value, label)` choices.
    Choice(&'static [(&'static str, &'static str)]),
    /// An integer restricted to `(value, label)` choices.
    IntChoice(&'static [(i64, &'static str)]),
    /// The id of an object of another resource (by its `type_name`).
    Fk(&'static str),
    /// Any JSON value, stored as jsonb.
    Json,
    /// YAML or JSON text that must parse to a mapping, stored verbatim.
    VarsText,
    DateTime,
}

impl Kind {
    /// The `type` OPTIONS reports.
    pub fn api_type(&self) -> &'static str {
        match self {
            Kind::Str(_) => "string",
            Kind::Int(..) => "integer",
            Kind::Bool => "boolean",
            Kind::Float => "float",
            Kind::Choice(_) | Kind::IntChoice(_) => "choice",
            Kind::Fk(_) => "id",
            Kind::Json | Kind::VarsText => "json",
            Kind::DateTime => "datetime",
        }
    }
}

/// A field's default on create.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// No default: required, or left to the database.
    None,
    Null,
    Str(&'static str),
    Int(i64),
    Bool(bool),
    /// `{}`.
    EmptyObject,
}

/// Where the value lives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Column {
    /// A column of the resource's own (or kind) table.
    Own(&'static str),
    /// A column of the parent table of an inherited resource.
    Parent(&'static str),
    /// A read-only SQL expression over the row (alias `o`, parent `p`).
    Computed(&'static str),
    /// Not stored as a column; the resource's code fills it.
    Virtual,
    /// A column of the table that holds the id (the parent when inherited).
    Base(&'static str),
}

/// The `id` every object has.
pub const ID: Field = Field::int("id", "ID")
    .read_only()
    .column(Column::Base("id"));
/// When the object was created.
pub const CREATED: Field = Field::datetime("created", "Created").column(Column::Base("created"));
/// Who created a row, for `summary_fields.created_by`.
pub const CREATED_BY: Field = Field::fk("created_by", "Created by", "user", "created_by")
    .read_only()
    .nullable()
    .column(Column::Base("created_by"));
/// Who last changed a row.
pub const MODIFIED_BY: Field = Field::fk("modified_by", "Modified by", "user", "modified_by")
    .read_only()
    .nullable()
    .column(Column::Base("modified_by"));
/// When the object last changed.
pub const MODIFIED: Field =
    Field::datetime("modified", "Modified").column(Column::Base("modified"));

/// One field of a resource.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub column: Column,
    pub kind: Kind,
    pub required: bool,
    pub read_only: bool,
    pub write_only: bool,
    /// Read back as `$encrypted$`, never filterable, masked in the activity stream.
    pub secret: bool,
    pub filterable: bool,
    /// Settable on create only.
    pub create_only: bool,
    pub nullable: bool,
    /// Never read from a body, shown, filtered on or listed in OPTIONS;
    /// only the resource's own code writes it.
    pub internal: bool,
    pub default: Default,
    pub label: &'static str,
    pub help: &'static str,
}

impl Field {
    const fn new(name: &'static str, kind: Kind, label: &'static str) -> Field {
        Field {
            name,
            column: Column::Own(name),
            kind,
            required: false,
            read_only: false,
            write_only: false,
            secret: false,
            filterable: true,
            create_only: false,
            nullable: false,
            internal: false,
            default: Default::None,
            label,
            help: "",
        }
    }

    /// A field of any kind, with no default.
    pub const fn new_kind(name: &'static str, label: &'static str, kind: Kind) -> Field {
        Field::new(name, kind, label)
    }

    /// Text, `""` by default.
    pub const fn text(name: &'static str, label: &'static str) -> Field {
        Field::new(name, Kind::Str(None), label).default(Default::Str(""))
    }

    /// Text of at most `max` characters, `""` by default.
    pub const fn string(name: &'static str, label: &'static str, max: u32) -> Field {
        Field::new(name, Kind::Str(Some(max)), label).default(Default::Str(""))
    }

    /// An integer.
    pub const fn int(name: &'static str, label: &'static str) -> Field {
        Field::new(name, Kind::Int(None, None), label)
    }

    /// A boolean, `false` by default.
    pub const fn boolean(name: &'static str, label: &'static str) -> Field {
        Field::new(name, Kind::Bool, label).default(Default::Bool(false))
    }

    /// A choice among `(value, label)`.
    pub const fn choice(
        name: &'static str,
        label: &'static str,
        choices: &'static [(&'static str, &'static str)],
    ) -> Field {
        Field::new(name, Kind::Choice(choices), label)
    }

    /// An integer choice among `(value, label)`.
    pub const fn int_choice(
        name: &'static str,
        label: &'static str,
        choices: &'static [(i64, &'static str)],
    ) -> Field {
        Field::new(name, Kind::IntChoice(choices), label)
    }

    /// A reference to a `target` object, stored in `<name>_id`.
    pub const fn fk(
        name: &'static str,
        label: &'static str,
        target: &'static str,
        column: &'static str,
    ) -> Field {
        let mut field = Field::new(name, Kind::Fk(target), label);
        field.column = Column::Own(column);
        field
    }

    /// Any JSON, stored as jsonb.
    pub const fn json(name: &'static str, label: &'static str) -> Field {
        Field::new(name, Kind::Json, label)
    }

    /// YAML/JSON variables text, `""` by default.
    pub const fn vars(name: &'static str, label: &'static str) -> Field {
        Field::new(name, Kind::VarsText, label).default(Default::Str(""))
    }

    /// A read-only timestamp.
    pub const fn datetime(name: &'static str, label: &'static str) -> Field {
        Field::new(name, Kind::DateTime, label)
            .read_only()
            .nullable()
    }

    pub const fn required(mut self) -> Field {
        self.required = true;
        self.default = Default::None;
        self
    }

    pub const fn read_only(mut self) -> Field {
        self.read_only = true;
        self
    }

    pub const fn write_only(mut self) -> Field {
        self.write_only = true;
        self.filterable = false;
        self
    }

    pub const fn secret(mut self) -> Field {
        self.secret = true;
        self.filterable = false;
        self
    }

    pub const fn unfilterable(mut self) -> Field {
        self.filterable = false;
        self
    }

    pub const fn create_only(mut self) -> Field {
        self.create_only = true;
        self
    }

    pub const fn internal(mut self) -> Field {
        self.internal = true;
        self.filterable = false;
        self
    }

    pub const fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }

    pub const fn default(mut self, default: Default) -> Field {
        self.default = default;
        self
    }

    pub const fn help(mut self, help: &'static str) -> Field {
        self.help = help;
        self
    }

    pub const fn column(mut self, column: Column) -> Field {
        self.column = column;
        self
    }

    pub const fn in_parent(mut self) -> Field {
        self.column = match self.column {
            Column::Own(name) => Column::Parent(name),
            other => other,
        };
        self
    }

    pub const fn bounds(mut self, min: Option<i64>, max: Option<i64>) -> Field {
        self.kind = Kind::Int(min, max);
        self
    }

    /// Whether a client may set it (on create at least).
    pub fn writable(&self) -> bool {
        !self.read_only && !self.internal && !matches!(self.column, Column::Computed(_))
    }
}
