//! SQL for declared resources: one builder for every list, detail, insert,
//! update and delete, driven by the declaration and a checked query.

use crate::store::pool::Queryable;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;

use super::{Db, StoreError};
use crate::resource::filter::{Lookup, Query, Term, Typed};
use crate::resource::{Column, Field, Kind, Resource, Storage};

/// A query parameter of any supported type.
pub type Param = Box<dyn ToSql + Sync + Send>;

/// `params` as a query takes them.
pub fn param_refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// A WHERE fragment with its parameters; `{o}` stands for the row's alias
/// and `?` for the next parameter.
#[derive(Default)]
pub struct Condition {
    pub sql: String,
    pub params: Vec<Param>,
}

impl Condition {
    /// A fragment with its parameters.
    pub fn new(sql: impl Into<String>, params: Vec<Param>) -> Condition {
        Condition {
            sql: sql.into(),
            params,
        }
    }
}

/// Builds one statement: numbers parameters and names aliases.
struct Sql {
    params: Vec<Param>,
    aliases: usize,
}

impl Sql {
    fn new() -> Sql {
        Sql {
            params: Vec::new(),
            aliases: 0,
        }
    }

    fn param(&mut self, value: Param) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("t{}", self.aliases)
    }

    /// Splices a condition: `{o}` becomes `alias`, each `?` a parameter.
    fn splice(&mut self, condition: Condition, alias: &str) -> String {
        let mut params = condition.params.into_iter();
        let mut out = String::new();
        for piece in condition.sql.replace("{o}", alias).split_inclusive('?') {
            match piece.strip_suffix('?') {
                Some(head) => {
                    out.push_str(head);
                    match params.next() {
                        Some(param) => out.push_str(&self.param(param)),
                        None => out.push('?'),
                    }
                }
                None => out.push_str(piece),
            }
        }
        out
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        param_refs(&self.params)
    }
}

/// `FROM` for a resource under `alias` (the parent, if any, is `<alias>p`).
pub fn from_clause(resource: &Resource, alias: &str) -> String {
    match resource.storage {
        Storage::Table(table) => format!("{table} {alias}"),
        Storage::Inherited { parent, child, .. } => {
            format!("{child} {alias} JOIN {parent} {alias}p ON {alias}p.id = {alias}.id")
        }
    }
}

/// The SQL expression of a field's column.
pub fn column(resource: &Resource, field: &Field, alias: &str) -> String {
    let inherited = matches!(resource.storage, Storage::Inherited { .. });
    match field.column {
        Column::Own(name) => format!("{alias}.\"{name}\""),
        Column::Parent(name) | Column::Base(name) if inherited => format!("{alias}p.\"{name}\""),
        Column::Parent(name) | Column::Base(name) => format!("{alias}.\"{name}\""),
        Column::Computed(expr) => format!(
            "({})",
            expr.replace("{o}", alias)
                .replace("{p}", &format!("{alias}p"))
        ),
        Column::Virtual => "NULL".into(),
    }
}

/// The column, cast to the type the row reader expects for the field's kind.
fn select_expr(resource: &Resource, field: &Field, alias: &str) -> String {
    let col = column(resource, field, alias);
    match field.kind {
        Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => format!("({col})::int8"),
        Kind::Float => format!("({col})::float8"),
        Kind::Str(_) | Kind::Choice(_) | Kind::VarsText => format!("({col})::text"),
        Kind::Bool => format!("({col})::bool"),
        Kind::Json => format!("({col})::jsonb"),
        Kind::DateTime => format!("({col})::timestamptz"),
    }
}

/// The fields a read returns: every field not write-only and not virtual.
fn read_fields(resource: &Resource) -> Vec<&'static Field> {
    let mut fields: Vec<&'static Field> = vec![
        &crate::resource::field::ID,
        &crate::resource::field::CREATED,
        &crate::resource::field::MODIFIED,
    ];
    fields.extend(
        resource
            .fields
            .iter()
            .filter(|f| !f.write_only && !f.internal && f.column != Column::Virtual),
    );
    if resource.tracks_users {
        fields.extend([&CREATED_BY, &MODIFIED_BY]);
    }
    fields
}

pub use crate::resource::field::{CREATED_BY, MODIFIED_BY};

/// The select list of `resource`'s readable fields, in `read_fields`
/// order: built once per resource and alias (it is the same for every
/// request, and building it was a tenth of a POST's CPU).
fn select_list(resource: &Resource, alias: &str) -> Arc<str> {
    type Lists = RwLock<HashMap<(&'static str, String), Arc<str>>>;
    static LISTS: OnceLock<Lists> = OnceLock::new();
    let lists = LISTS.get_or_init(Default::default);
    let key = (resource.type_name, alias.to_owned());
    if let Ok(read) = lists.read()
        && let Some(list) = read.get(&key)
    {
        return list.clone();
    }
    let list: Arc<str> = read_fields(resource)
        .iter()
        .map(|f| format!("{} AS \"{}\"", select_expr(resource, f, alias), f.name))
        .collect::<Vec<_>>()
        .join(", ")
        .into();
    if let Ok(mut write) = lists.write() {
        write.insert(key, list.clone());
    }
    list
}

/// Column `index` of `row`, selected by `select_expr` for `field`, as JSON.
/// By position: a row of a select list holds its fields in `read_fields`
/// order, and looking each up by name compared it with every column name.
fn read_value(row: &tokio_postgres::Row, index: usize, field: &Field) -> Result<Value, StoreError> {
    let value = match field.kind {
        Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => {
            row.try_get::<_, Option<i64>>(index)?.map(Value::from)
        }
        Kind::Float => row.try_get::<_, Option<f64>>(index)?.map(Value::from),
        Kind::Str(_) | Kind::Choice(_) | Kind::VarsText => {
            row.try_get::<_, Option<String>>(index)?.map(Value::String)
        }
        Kind::Bool => row.try_get::<_, Option<bool>>(index)?.map(Value::Bool),
        Kind::Json => row.try_get::<_, Option<Value>>(index)?,
        Kind::DateTime => row
            .try_get::<_, Option<DateTime<Utc>>>(index)?
            .map(|at| Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))),
    };
    Ok(value.unwrap_or(Value::Null))
}

/// A row as a JSON map, by field kind.
fn row_to_map(
    resource: &Resource,
    row: &tokio_postgres::Row,
) -> Result<Map<String, Value>, StoreError> {
    let mut map = Map::new();
    for (index, field) in read_fields(resource).into_iter().enumerate() {
        map.insert(field.name.to_string(), read_value(row, index, field)?);
    }
    Ok(map)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn typed_param(value: &Typed) -> Param {
    match value {
        Typed::Text(s) => Box::new(s.clone()),
        Typed::Int(i) => Box::new(*i),
        Typed::Float(f) => Box::new(*f),
        Typed::Bool(b) => Box::new(*b),
        Typed::Time(t) => Box::new(*t),
        Typed::TextList(list) => Box::new(list.clone()),
        Typed::IntList(list) => Box::new(list.clone()),
    }
}

/// The comparison of one term on the column expression `col`.
fn comparison(sql: &mut Sql, field: &Field, col: &str, term: &Term) -> String {
    let cast = match field.kind {
        Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => "::int8",
        Kind::Float => "::float8",
        Kind::Str(_) | Kind::Choice(_) | Kind::VarsText | Kind::Json => "::text",
        Kind::Bool => "::bool",
        Kind::DateTime => "::timestamptz",
    };
    let col = format!("({col}){cast}");
    let text = |value: &Typed| match value {
        Typed::Text(s) => s.clone(),
        _ => String::new(),
    };
    match term.lookup {
        Lookup::Exact => {
            let p = sql.param(typed_param(&term.value));
            format!("{col} = {p}")
        }
        Lookup::IExact => {
            let p = sql.param(Box::new(text(&term.value)));
            format!("lower({col}) = lower({p})")
        }
        Lookup::Contains | Lookup::IContains => {
            let p = sql.param(Box::new(format!("%{}%", escape_like(&text(&term.value)))));
            let op = if term.lookup == Lookup::Contains {
                "LIKE"
            } else {
                "ILIKE"
            };
            format!("{col} {op} {p}")
        }
        Lookup::StartsWith | Lookup::IStartsWith => {
            let p = sql.param(Box::new(format!("{}%", escape_like(&text(&term.value)))));
            let op = if term.lookup == Lookup::StartsWith {
                "LIKE"
            } else {
                "ILIKE"
            };
            format!("{col} {op} {p}")
        }
        Lookup::EndsWith | Lookup::IEndsWith => {
            let p = sql.param(Box::new(format!("%{}", escape_like(&text(&term.value)))));
            let op = if term.lookup == Lookup::EndsWith {
                "LIKE"
            } else {
                "ILIKE"
            };
            format!("{col} {op} {p}")
        }
        Lookup::Regex | Lookup::IRegex => {
            let p = sql.param(Box::new(text(&term.value)));
            let op = if term.lookup == Lookup::Regex {
                "~"
            } else {
                "~*"
            };
            format!("{col} {op} {p}")
        }
        Lookup::Gt | Lookup::Gte | Lookup::Lt | Lookup::Lte => {
            let op = match term.lookup {
                Lookup::Gt => ">",
                Lookup::Gte => ">=",
                Lookup::Lt => "<",
                _ => "<=",
            };
            let p = sql.param(typed_param(&term.value));
            format!("{col} {op} {p}")
        }
        Lookup::In => {
            let p = sql.param(typed_param(&term.value));
            format!("{col} = ANY({p})")
        }
        Lookup::IsNull => match term.value {
            Typed::Bool(false) => format!("{col} IS NOT NULL"),
            _ => format!("{col} IS NULL"),
        },
    }
}

/// One term as SQL, crossing its foreign keys with nested `IN` subqueries.
fn term_sql(sql: &mut Sql, resource: &Resource, alias: &str, term: &Term) -> String {
    let mut current = resource;
    let mut current_alias = alias.to_string();
    let mut opened = Vec::new();
    let mut out = String::new();
    for hop in &term.hops {
        let col = column(current, hop.field, &current_alias);
        let next_alias = sql.alias();
        let id = column(hop.target, &crate::resource::field::ID, &next_alias);
        out.push_str(&format!(
            "{col} IN (SELECT {id} FROM {} WHERE ",
            from_clause(hop.target, &next_alias)
        ));
        opened.push(());
        current = hop.target;
        current_alias = next_alias;
    }
    let col = column(current, term.field, &current_alias);
    out.push_str(&comparison(sql, term.field, &col, term));
    for _ in opened {
        out.push(')');
    }
    if term.negate {
        format!("NOT coalesce({out}, false)")
    } else {
        out
    }
}

/// The WHERE clause of a list: query, scope and access together.
fn where_clause(
    sql: &mut Sql,
    resource: &Resource,
    alias: &str,
    query: &Query,
    conditions: Vec<Condition>,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    for condition in conditions {
        let spliced = sql.splice(condition, alias);
        parts.push(format!("({spliced})"));
    }
    for term in &query.all {
        parts.push(format!("({})", term_sql(sql, resource, alias, term)));
    }
    if !query.any.is_empty() {
        let any: Vec<String> = query
            .any
            .iter()
            .map(|term| format!("({})", term_sql(sql, resource, alias, term)))
            .collect();
        parts.push(format!("({})", any.join(" OR ")));
    }
    if let Some(search) = &query.search {
        let fields: Vec<&Field> = resource
            .search
            .iter()
            .filter_map(|name| resource.field(name))
            .collect();
        if !fields.is_empty() {
            let p = sql.param(Box::new(format!("%{}%", escape_like(search))));
            let any: Vec<String> = fields
                .iter()
                .map(|f| format!("({})::text ILIKE {p}", column(resource, f, alias)))
                .collect();
            parts.push(format!("({})", any.join(" OR ")));
        }
    }
    if parts.is_empty() {
        "TRUE".into()
    } else {
        parts.join(" AND ")
    }
}

fn order_clause(resource: &Resource, alias: &str, query: &Query) -> String {
    let mut order: Vec<String> = Vec::new();
    if query.order.is_empty() {
        for name in resource.ordering {
            let (name, desc) = match name.strip_prefix('-') {
                Some(name) => (name, true),
                None => (*name, false),
            };
            if let Some(field) = resource.field(name) {
                order.push(format!(
                    "{}{}",
                    column(resource, field, alias),
                    if desc { " DESC" } else { "" }
                ));
            }
        }
    } else {
        for (field, desc) in &query.order {
            order.push(format!(
                "{}{}",
                column(resource, field, alias),
                if *desc { " DESC" } else { "" }
            ));
        }
    }
    order.push(column(resource, &crate::resource::field::ID, alias));
    order.join(", ")
}

/// One page of a list and the total count.
pub async fn list(
    db: &Db,
    resource: &Resource,
    query: &Query,
    conditions: Vec<Condition>,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<Map<String, Value>>), StoreError> {
    let alias = "o";
    let mut sql = Sql::new();
    let filter = where_clause(&mut sql, resource, alias, query, conditions);
    let from = from_clause(resource, alias);
    let conn = db.get().await?;
    let count_sql = format!("SELECT count(*) FROM {from} WHERE {filter}");
    let count_statement = conn.prepared(&count_sql).await?;
    let count: i64 = conn.query_one(&count_statement, &sql.refs()).await?.get(0);
    // The bounds are written into the SQL, not passed: with parameters the
    // pool's generic plans cannot know a page is small, and sort the whole
    // join instead of reading an index in order (1.2 ms against 0.14 ms for
    // a page of 25 templates out of 1,000). They are integers, and a page
    // size has few values; each new (offset, size) is prepared once per
    // connection.
    let page_sql = format!(
        "SELECT {} FROM {from} WHERE {filter} ORDER BY {} OFFSET {} LIMIT {}",
        select_list(resource, alias),
        order_clause(resource, alias, query),
        offset.max(0),
        limit.max(0),
    );
    let page_statement = conn.prepared(&page_sql).await?;
    let rows = conn.query(&page_statement, &sql.refs()).await?;
    let items = rows
        .iter()
        .map(|row| row_to_map(resource, row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((count, items))
}

/// One object by id, if it exists and passes `conditions`.
pub async fn get(
    client: &impl Queryable,
    resource: &Resource,
    id: i64,
    conditions: Vec<Condition>,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let alias = "o";
    let (sql, filter) = one_object(resource, alias, id, conditions);
    let statement = format!(
        "SELECT {} FROM {} WHERE {filter}",
        select_list(resource, alias),
        from_clause(resource, alias)
    );
    let row = client.fetch_opt(&statement, &sql.refs()).await?;
    row.map(|row| row_to_map(resource, &row)).transpose()
}

/// The WHERE clause (and its parameters) picking object `id` under `alias`
/// if it meets `conditions`.
fn one_object(
    resource: &Resource,
    alias: &str,
    id: i64,
    mut conditions: Vec<Condition>,
) -> (Sql, String) {
    let mut sql = Sql::new();
    conditions.push(Condition::new(
        format!(
            "{} = ?",
            column(resource, &crate::resource::field::ID, "{o}")
        ),
        vec![Box::new(id)],
    ));
    let filter = where_clause(&mut sql, resource, alias, &Query::default(), conditions);
    (sql, filter)
}

/// Whether object `id` exists and meets `conditions`: `get` without its
/// select list, for checking a reference.
pub async fn exists(
    client: &impl Queryable,
    resource: &Resource,
    id: i64,
    conditions: Vec<Condition>,
) -> Result<bool, StoreError> {
    let (sql, filter) = one_object(resource, "o", id, conditions);
    let statement = format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE {filter})",
        from_clause(resource, "o")
    );
    Ok(client.fetch_one(&statement, &sql.refs()).await?.get(0))
}

/// Whether `table` has a row with this id (no read condition: for
/// references whose permission is checked as a role afterwards).
pub async fn row_exists(client: &impl Queryable, table: &str, id: i64) -> Result<bool, StoreError> {
    let statement = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)");
    Ok(client.fetch_one(&statement, &[&id]).await?.get(0))
}

/// The id of the object a named-URL value names, looked up by one field
/// and, when given, the id of its parent object.
pub async fn find_id(
    client: &impl Queryable,
    resource: &Resource,
    field: &Field,
    value: &str,
    parent: Option<(&Field, Option<i64>)>,
) -> Result<Option<i64>, StoreError> {
    let mut statement = format!(
        "SELECT {} FROM {} WHERE ({})::text = $1",
        column(resource, &crate::resource::field::ID, "o"),
        from_clause(resource, "o"),
        column(resource, field, "o")
    );
    let mut params: Vec<Param> = vec![Box::new(value.to_string())];
    if let Some((fk, id)) = parent {
        match id {
            Some(id) => {
                statement.push_str(&format!(" AND {} = $2", column(resource, fk, "o")));
                params.push(Box::new(id));
            }
            None => statement.push_str(&format!(" AND {} IS NULL", column(resource, fk, "o"))),
        }
    }
    statement.push_str(" LIMIT 2");
    let refs = param_refs(&params);
    let rows = client.fetch(&statement, &refs).await?;
    Ok(if rows.len() == 1 {
        Some(rows[0].get(0))
    } else {
        None
    })
}

/// A value as a parameter of the field's SQL type.
fn value_param(field: &Field, value: &Value) -> (Param, &'static str) {
    match field.kind {
        Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => (Box::new(value.as_i64()), "::int8"),
        Kind::Float => (Box::new(value.as_f64()), "::float8"),
        Kind::Bool => (Box::new(value.as_bool()), "::bool"),
        Kind::Str(_) | Kind::Choice(_) | Kind::VarsText => {
            (Box::new(value.as_str().map(str::to_string)), "::text")
        }
        Kind::Json => (
            Box::new(if value.is_null() {
                None
            } else {
                Some(value.clone())
            }),
            "::jsonb",
        ),
        Kind::DateTime => (
            Box::new(
                value
                    .as_str()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|t| t.with_timezone(&Utc)),
            ),
            "::timestamptz",
        ),
    }
}

/// The table a field is written to.
fn table_of(resource: &Resource, field: &Field) -> Option<&'static str> {
    match (resource.storage, field.column) {
        (Storage::Table(table), Column::Own(_) | Column::Parent(_) | Column::Base(_)) => {
            Some(table)
        }
        (Storage::Inherited { child, .. }, Column::Own(_)) => Some(child),
        (Storage::Inherited { parent, .. }, Column::Parent(_) | Column::Base(_)) => Some(parent),
        _ => None,
    }
}

fn column_name(field: &Field) -> Option<&'static str> {
    match field.column {
        Column::Own(name) | Column::Parent(name) | Column::Base(name) => Some(name),
        _ => None,
    }
}

/// One object of a named URL's chain: its resource, the field that names it
/// and the reference to its parent (the next level), if it has one.
pub struct NameLevel<'a> {
    pub resource: &'a Resource,
    pub name: &'a Field,
    pub parent: Option<&'a Field>,
}

/// The names along `levels` from object `id` up: `None` when the object is
/// gone; the list ends after the first level whose parent reference is
/// empty, with `None` for that missing parent.
pub async fn name_chain(
    client: &impl Queryable,
    levels: &[NameLevel<'_>],
    id: i64,
) -> Result<Option<Vec<Option<String>>>, StoreError> {
    let Some(first) = levels.first() else {
        return Ok(Some(Vec::new()));
    };
    let mut selected = Vec::new();
    let mut from = from_clause(first.resource, "n0");
    for (depth, level) in levels.iter().enumerate() {
        let alias = format!("n{depth}");
        if depth > 0 {
            let above = &levels[depth - 1];
            let Some(fk) = above.parent else { break };
            // An inherited resource's FROM is itself a join: parenthesized.
            let joined = match level.resource.storage {
                Storage::Table(_) => from_clause(level.resource, &alias),
                Storage::Inherited { .. } => format!("({})", from_clause(level.resource, &alias)),
            };
            from.push_str(&format!(
                " LEFT JOIN {joined} ON {} = {}",
                column(level.resource, &crate::resource::field::ID, &alias),
                column(above.resource, fk, &format!("n{}", depth - 1)),
            ));
        }
        let parent = level
            .parent
            .map(|fk| format!("({})::int8", column(level.resource, fk, &alias)))
            .unwrap_or_else(|| "NULL::int8".into());
        selected.push(format!(
            "({})::text, {parent}",
            column(level.resource, level.name, &alias)
        ));
    }
    let statement = format!(
        "SELECT {} FROM {from} WHERE {} = $1",
        selected.join(", "),
        column(first.resource, &crate::resource::field::ID, "n0"),
    );
    let Some(row) = client.fetch_opt(&statement, &[&id]).await? else {
        return Ok(None);
    };
    let mut names = Vec::new();
    for depth in 0..levels.len() {
        // A NULL name of an existing object reads as empty, as before.
        names.push(Some(
            row.get::<_, Option<String>>(2 * depth).unwrap_or_default(),
        ));
        if depth + 1 == levels.len() {
            break;
        }
        if row.get::<_, Option<i64>>(2 * depth + 1).is_none() {
            names.push(None);
            break;
        }
    }
    Ok(Some(names))
}

/// Inserts a new object; returns its id.
pub async fn insert(
    client: &impl Queryable,
    resource: &Resource,
    values: &[(&'static Field, Value)],
    actor: Option<i64>,
) -> Result<i64, StoreError> {
    let (ctes, params) = insert_ctes(resource, values, actor);
    let statement = format!("WITH {} SELECT id FROM new", ctes.join(", "));
    let refs = param_refs(&params);
    Ok(client.fetch_one(&statement, &refs).await?.get(0))
}

/// A new object and its activity stream entry inserted in one statement,
/// so one round trip commits both (or neither). It returns the object's id
/// and, for a resource stored in one table, the object as `get` reads it
/// (its computed fields as of before the insert: right for an object
/// nothing refers to yet). The entry is linked to the new object only.
pub struct LoggedInsert {
    statement: String,
    params: Vec<Param>,
    returns_row: bool,
}

impl LoggedInsert {
    /// The statement that inserts an object of `resource` with `values`
    /// and logs `entry`.
    pub fn new(
        resource: &Resource,
        values: &[(&'static Field, Value)],
        actor: Option<i64>,
        entry: &super::activity::Entry<'_>,
    ) -> LoggedInsert {
        let (mut ctes, mut params) = insert_ctes(resource, values, actor);
        ctes.push(super::activity::new_object_ctes(entry, &mut params));
        let (statement, returns_row) = match resource.storage {
            Storage::Table(_) => (
                format!(
                    "WITH {} SELECT {} FROM new o",
                    ctes.join(", "),
                    select_list(resource, "o")
                ),
                true,
            ),
            Storage::Inherited { .. } => (
                format!("WITH {} SELECT id FROM new", ctes.join(", ")),
                false,
            ),
        };
        LoggedInsert {
            statement,
            params,
            returns_row,
        }
    }

    /// The statement's SQL, to prepare ahead.
    pub fn sql(&self) -> &str {
        &self.statement
    }

    /// Runs the insert: the new object's id, and its row if it returns one.
    pub async fn run(
        &self,
        client: &impl Queryable,
        resource: &Resource,
    ) -> Result<(i64, Option<Map<String, Value>>), StoreError> {
        let refs = param_refs(&self.params);
        let row = client.fetch_one(&self.statement, &refs).await?;
        if !self.returns_row {
            return Ok((row.get(0), None));
        }
        let row = row_to_map(resource, &row)?;
        let id = row.get("id").and_then(Value::as_i64).unwrap_or_default();
        Ok((id, Some(row)))
    }
}

/// The data-modifying CTEs that insert an object, the last one `new` with
/// its id, and their parameters.
fn insert_ctes(
    resource: &Resource,
    values: &[(&'static Field, Value)],
    actor: Option<i64>,
) -> (Vec<String>, Vec<Param>) {
    let mut by_table: Vec<(&'static str, Vec<String>, Vec<String>)> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let mut add = |table: &'static str, col: String, placeholder: String| match by_table
        .iter_mut()
        .find(|(t, _, _)| *t == table)
    {
        Some((_, cols, vals)) => {
            cols.push(col);
            vals.push(placeholder);
        }
        None => by_table.push((table, vec![col], vec![placeholder])),
    };
    let base = resource.storage.base_table();
    if let Storage::Inherited { kind, .. } = resource.storage {
        params.push(Box::new(kind.to_string()));
        add(base, "kind".into(), format!("${}::text", params.len()));
    }
    if resource.tracks_users {
        params.push(Box::new(actor));
        add(
            base,
            "created_by".into(),
            format!("${}::int8", params.len()),
        );
        params.push(Box::new(actor));
        add(
            base,
            "modified_by".into(),
            format!("${}::int8", params.len()),
        );
    }
    for (field, value) in values {
        let (Some(table), Some(name)) = (table_of(resource, field), column_name(field)) else {
            continue;
        };
        let (param, cast) = value_param(field, value);
        params.push(param);
        add(
            table,
            format!("\"{name}\""),
            format!("${}{cast}", params.len()),
        );
    }
    let columns_of = |table: &str| {
        by_table
            .iter()
            .find(|(t, _, _)| *t == table)
            .map(|(_, cols, vals)| (cols.join(", "), vals.join(", ")))
    };
    let base_insert = match columns_of(base) {
        Some((cols, vals)) => format!("INSERT INTO {base} ({cols}) VALUES ({vals}) RETURNING id"),
        None => format!("INSERT INTO {base} DEFAULT VALUES RETURNING id"),
    };
    let ctes = match resource.storage {
        // The whole row: a one-table resource's statement may read it back.
        Storage::Table(_) => vec![format!(
            "new AS ({})",
            base_insert.replace(" RETURNING id", " RETURNING *")
        )],
        Storage::Inherited { child, .. } => {
            // The parent row first, then the kind row with the parent's id.
            let (cols, vals) = columns_of(child).unwrap_or_default();
            let (cols, vals) = if cols.is_empty() {
                ("id".to_string(), "parent.id".to_string())
            } else {
                (format!("id, {cols}"), format!("parent.id, {vals}"))
            };
            vec![
                format!("parent AS ({base_insert})"),
                format!(
                    "new AS (INSERT INTO {child} ({cols}) SELECT {vals} FROM parent RETURNING id)"
                ),
            ]
        }
    };
    (ctes, params)
}

/// Writes changed fields of an object; `modified` moves on.
pub async fn update(
    client: &impl Queryable,
    resource: &Resource,
    id: i64,
    values: &[(&'static Field, Value)],
    actor: Option<i64>,
) -> Result<(), StoreError> {
    let base = resource.storage.base_table();
    // Per table: assignments and their parameters; `$1` is always the id.
    let mut tables: Vec<(&'static str, Vec<String>, Vec<Param>)> =
        vec![(base, vec!["modified = now()".into()], vec![Box::new(id)])];
    if resource.tracks_users {
        tables[0].1.push("modified_by = $2::int8".into());
        tables[0].2.push(Box::new(actor));
    }
    for (field, value) in values {
        let (Some(table), Some(name)) = (table_of(resource, field), column_name(field)) else {
            continue;
        };
        let (param, cast) = value_param(field, value);
        let index = match tables.iter().position(|(t, _, _)| *t == table) {
            Some(index) => index,
            None => {
                tables.push((table, Vec::new(), vec![Box::new(id)]));
                tables.len() - 1
            }
        };
        let (_, assignments, params) = &mut tables[index];
        params.push(param);
        assignments.push(format!("\"{name}\" = ${}{cast}", params.len()));
    }
    for (table, assignments, params) in tables {
        if assignments.is_empty() {
            continue;
        }
        let statement = format!(
            "UPDATE {table} SET {} WHERE id = $1",
            assignments.join(", ")
        );
        let refs = param_refs(&params);
        client.run(&statement, &refs).await?;
    }
    Ok(())
}

/// Deletes an object (its kind row goes with the parent).
pub async fn delete(
    client: &impl Queryable,
    resource: &Resource,
    id: i64,
) -> Result<u64, StoreError> {
    let statement = format!(
        "DELETE FROM {} WHERE id = $1",
        resource.storage.base_table()
    );
    Ok(client.run(&statement, &[&id]).await?)
}

/// Summaries of the objects of several resources in ONE statement (a branch
/// per resource, each row's fields as one JSON object): a page that refers
/// to five kinds of objects costs one statement, not five. Returns, per
/// resource type, each object's summary in the declared field order.
pub async fn summaries_of(
    client: &impl Queryable,
    targets: &[(&'static Resource, Vec<i64>)],
) -> Result<HashMap<&'static str, HashMap<i64, Map<String, Value>>>, StoreError> {
    let wanted: Vec<&(&'static Resource, Vec<i64>)> =
        targets.iter().filter(|(_, ids)| !ids.is_empty()).collect();
    let mut out: HashMap<&'static str, HashMap<i64, Map<String, Value>>> = targets
        .iter()
        .map(|(resource, _)| (resource.type_name, HashMap::new()))
        .collect();
    if wanted.is_empty() {
        return Ok(out);
    }
    let mut branches = Vec::with_capacity(wanted.len());
    let mut keys: Vec<Vec<String>> = Vec::with_capacity(wanted.len());
    for (n, (resource, _)) in wanted.iter().enumerate() {
        let mut pairs = Vec::new();
        let mut names = Vec::new();
        for name in resource.summary {
            if let Some((alias, col)) = name.split_once(':') {
                // `alias:column`: a column that is not an API field.
                pairs.push(format!("'{alias}', to_jsonb(o.\"{col}\")"));
                names.push(alias.to_string());
            } else if let Some(field) = resource.field(name) {
                pairs.push(format!(
                    "'{}', {}",
                    field.name,
                    json_expr(resource, field, "o")
                ));
                names.push(field.name.to_string());
            }
        }
        let id = column(resource, &crate::resource::field::ID, "o");
        branches.push(format!(
            "SELECT {n}::int4, ({id})::int8, jsonb_build_object({}) FROM {} WHERE {id} = ANY(${})",
            pairs.join(", "),
            from_clause(resource, "o"),
            n + 1
        ));
        keys.push(names);
    }
    let params: Vec<&(dyn ToSql + Sync)> = wanted
        .iter()
        .map(|(_, ids)| ids as &(dyn ToSql + Sync))
        .collect();
    let rows = client.fetch(&branches.join(" UNION ALL "), &params).await?;
    for row in rows {
        let branch: i32 = row.try_get(0)?;
        let id: i64 = row.try_get(1)?;
        let Value::Object(mut found) = row.try_get::<_, Value>(2)? else {
            continue;
        };
        let Some(((resource, _), names)) = usize::try_from(branch)
            .ok()
            .and_then(|b| wanted.get(b).zip(keys.get(b)))
        else {
            continue;
        };
        // Back in the declared order (jsonb keeps its own).
        let map: Map<String, Value> = names
            .iter()
            .map(|name| (name.clone(), found.remove(name).unwrap_or(Value::Null)))
            .collect();
        out.entry(resource.type_name).or_default().insert(id, map);
    }
    Ok(out)
}

/// A field's value as the JSON `read_value` would make of it.
fn json_expr(resource: &Resource, field: &Field, alias: &str) -> String {
    let expr = select_expr(resource, field, alias);
    match field.kind {
        // `to_rfc3339_opts(Micros, true)`, as the row reader writes times.
        Kind::DateTime => {
            format!("to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        }
        _ => expr,
    }
}
