//! Smart inventories' `host_filter`, in the language of AWX's `SmartFilter`,
//! compiled to one SQL condition over `hosts`.
//!
//! The language: terms `key=value` joined by `and` and `or` (`and` binds
//! tighter), parentheses, and — beyond AWX — a prefix `not`. A key is a
//! host field, a path across relations (`groups__name`,
//! `inventory__organization__name`), optionally ending in a lookup
//! (`__icontains`, `__in`, `__isnull`, …); `search` (and
//! `groups__search`) looks in the search fields; `ansible_facts__a__b=c`
//! asks that the facts contain `{"a": {"b": c}}` (`a[]` for a list that
//! contains the rest). Keys and values may be quoted (`name="a b"`); an
//! unquoted value of a fact is typed as AWX types it (`null`, `true`,
//! `false`, integers, decimals).
//!
//! The compiled SQL names the host row `{o}` and marks each parameter with
//! `?`, as `store::resource::Condition` does; values are never spliced into
//! the text. Positions in errors are 0-based character offsets into the
//! filter.

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use crate::resource::field::ID;
use crate::resource::filter::Lookup;
use crate::resource::validate::parse_bool;
use crate::resource::{Field, Kind, Resource};
use crate::resources::hosts::HOST;
use crate::store::resource::{Condition, Param, column, from_clause};

/// How deep parentheses and `not` may nest: a filter is a few terms, and a
/// bound keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 32;
/// How many terms one filter may hold (each is a subquery or a comparison).
const MAX_TERMS: usize = 256;

/// Why a filter was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}.")]
pub struct FilterError {
    /// 0-based character offset into the filter.
    pub position: usize,
    pub message: String,
}

fn fail<T>(position: usize, message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError {
        position,
        message: message.into(),
    })
}

/// A bound value, kept typed so tests can read it and the store can send it.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterParam {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(DateTime<Utc>),
    Json(Value),
    TextList(Vec<String>),
    IntList(Vec<i64>),
}

impl FilterParam {
    /// The value as a statement parameter.
    pub fn into_param(self) -> Param {
        match self {
            FilterParam::Text(v) => Box::new(v),
            FilterParam::Int(v) => Box::new(v),
            FilterParam::Float(v) => Box::new(v),
            FilterParam::Bool(v) => Box::new(v),
            FilterParam::Time(v) => Box::new(v),
            FilterParam::Json(v) => Box::new(v),
            FilterParam::TextList(v) => Box::new(v),
            FilterParam::IntList(v) => Box::new(v),
        }
    }
}

/// A filter as SQL: `{o}` is the host row, each `?` the next parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<FilterParam>,
}

impl Compiled {
    /// As a condition the resource store splices into its queries.
    pub fn into_condition(self) -> Condition {
        Condition::new(
            self.sql,
            self.params
                .into_iter()
                .map(FilterParam::into_param)
                .collect(),
        )
    }
}

/// Parses and compiles `filter`.
pub fn compile(filter: &str) -> Result<Compiled, FilterError> {
    let expr = parse(filter)?;
    let mut compiler = Compiler::default();
    let sql = compiler.expr(&expr)?;
    Ok(Compiled {
        sql,
        params: compiler.params,
    })
}

/// Replaces each `?` of compiled SQL with `$first`, `$first+1`, …: for
/// statements written by hand rather than through the resource store. The
/// compiler never emits `?` for anything but a parameter.
pub fn number_params(sql: &str, first: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = first;
    for c in sql.chars() {
        if c == '?' {
            out.push('$');
            out.push_str(&next.to_string());
            next += 1;
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Eq,
    /// A run of characters that are none of space, `(`, `)`, `=`, `"`.
    Word(String),
    /// Text between double quotes (no escapes, as in AWX).
    Quoted(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn tokenize(filter: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = filter.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                tokens.push(Token {
                    tok: Tok::Open,
                    pos: start,
                });
                i += 1;
            }
            ')' => {
                tokens.push(Token {
                    tok: Tok::Close,
                    pos: start,
                });
                i += 1;
            }
            '=' => {
                tokens.push(Token {
                    tok: Tok::Eq,
                    pos: start,
                });
                i += 1;
            }
            '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&c| c == '"') else {
                    return fail(start, "Unterminated quoted text");
                };
                let text: String = chars[i + 1..i + 1 + len].iter().collect();
                tokens.push(Token {
                    tok: Tok::Quoted(text),
                    pos: start,
                });
                i += len + 2;
            }
            _ => {
                let len = chars[i..]
                    .iter()
                    .position(|&c| c.is_whitespace() || matches!(c, '(' | ')' | '=' | '"'))
                    .unwrap_or(chars.len() - i);
                tokens.push(Token {
                    tok: Tok::Word(chars[i..i + len].iter().collect()),
                    pos: start,
                });
                i += len;
            }
        }
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// Syntax

/// A value as written: bare text is typed for facts, quoted text never is.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Bare(String),
    Quoted(String),
}

impl Raw {
    fn text(&self) -> &str {
        match self {
            Raw::Bare(s) | Raw::Quoted(s) => s,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Raw::Bare(s) if s == "null")
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    key: String,
    key_pos: usize,
    value: Raw,
    value_pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Term(Term),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    /// Where the input ends, for errors about what is missing.
    end: usize,
    terms: usize,
}

fn keyword(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(word))
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Open => "\"(\"".into(),
        Tok::Close => "\")\"".into(),
        Tok::Eq => "\"=\"".into(),
        Tok::Word(w) => format!("\"{w}\""),
        Tok::Quoted(q) => format!("\"\\\"{q}\\\"\""),
    }
}

fn parse(filter: &str) -> Result<Expr, FilterError> {
    let tokens = tokenize(filter)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: filter.chars().count(),
        terms: 0,
    };
    if parser.tokens.is_empty() {
        return fail(0, "Empty host filter");
    }
    let expr = parser.or(0)?;
    if let Some(token) = parser.peek() {
        let message = match token.tok {
            Tok::Close => "Unbalanced \")\"".to_string(),
            ref other => format!("Expected \"and\" or \"or\", found {}", describe(other)),
        };
        return fail(token.pos, message);
    }
    Ok(expr)
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        if token.is_some() {
            self.at += 1;
        }
        token
    }

    fn here(&self) -> usize {
        self.peek().map(|t| t.pos).unwrap_or(self.end)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.and(depth)?];
        while keyword(self.peek(), "or") {
            self.at += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary(depth)?];
        while keyword(self.peek(), "and") {
            self.at += 1;
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if depth >= MAX_DEPTH {
            return fail(self.here(), "Host filter nests too deeply");
        }
        // `not` is an operator unless it is a key (`not=1`).
        let is_eq_next = matches!(
            self.tokens.get(self.at + 1),
            Some(Token { tok: Tok::Eq, .. })
        );
        if keyword(self.peek(), "not") && !is_eq_next {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if (keyword(self.peek(), "and") || keyword(self.peek(), "or")) && !is_eq_next {
            return fail(
                self.here(),
                format!(
                    "Expected a term, found {}",
                    self.peek().map(|t| describe(&t.tok)).unwrap_or_default()
                ),
            );
        }
        match self.next() {
            Some(Token {
                tok: Tok::Open,
                pos,
            }) => {
                if matches!(
                    self.peek(),
                    Some(Token {
                        tok: Tok::Close,
                        ..
                    })
                ) {
                    return fail(self.here(), "Empty parentheses");
                }
                let inner = self.or(depth + 1)?;
                match self.next() {
                    Some(Token {
                        tok: Tok::Close, ..
                    }) => Ok(inner),
                    Some(token) => fail(
                        token.pos,
                        format!(
                            "Expected \"and\", \"or\" or \")\", found {}",
                            describe(&token.tok)
                        ),
                    ),
                    None => fail(pos, "Unbalanced \"(\""),
                }
            }
            Some(Token {
                tok: Tok::Word(key) | Tok::Quoted(key),
                pos,
            }) => self.term(key, pos),
            Some(token) => fail(
                token.pos,
                format!("Expected a term, found {}", describe(&token.tok)),
            ),
            None => fail(self.end, "Expected a term, found the end of the filter"),
        }
    }

    fn term(&mut self, key: String, key_pos: usize) -> Result<Expr, FilterError> {
        match self.next() {
            Some(Token { tok: Tok::Eq, .. }) => {}
            Some(token) => {
                return fail(
                    token.pos,
                    format!(
                        "Expected \"=\" after \"{key}\", found {}",
                        describe(&token.tok)
                    ),
                );
            }
            None => return fail(self.end, format!("Expected \"=\" after \"{key}\"")),
        }
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return fail(key_pos, format!("More than {MAX_TERMS} terms"));
        }
        let value_pos = self.here();
        // The value is optional (`name=""` and `name=` both mean empty).
        let value = match self.peek().map(|t| &t.tok) {
            Some(Tok::Word(w)) => Raw::Bare(w.clone()),
            Some(Tok::Quoted(q)) => Raw::Quoted(q.clone()),
            _ => Raw::Quoted(String::new()),
        };
        if matches!(
            self.peek().map(|t| &t.tok),
            Some(Tok::Word(_) | Tok::Quoted(_))
        ) {
            self.at += 1;
        }
        Ok(Expr::Term(Term {
            key,
            key_pos,
            value,
            value_pos,
        }))
    }
}

// ---------------------------------------------------------------------------
// Meaning

/// Lookups a key may end with, by name.
fn lookup_named(name: &str) -> Option<Lookup> {
    Some(match name {
        "exact" => Lookup::Exact,
        "iexact" => Lookup::IExact,
        "contains" => Lookup::Contains,
        "icontains" => Lookup::IContains,
        "startswith" => Lookup::StartsWith,
        "istartswith" => Lookup::IStartsWith,
        "endswith" => Lookup::EndsWith,
        "iendswith" => Lookup::IEndsWith,
        "regex" => Lookup::Regex,
        "iregex" => Lookup::IRegex,
        "gt" => Lookup::Gt,
        "gte" => Lookup::Gte,
        "lt" => Lookup::Lt,
        "lte" => Lookup::Lte,
        "in" => Lookup::In,
        "isnull" => Lookup::IsNull,
        _ => return None,
    })
}

/// Lookups AWX refuses on `ansible_facts` (every JSON lookup but `exact`):
/// facts are matched by containment only.
const FACT_LOOKUPS: &[&str] = &[
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "regex",
    "iregex",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "isnull",
    "range",
    "contained_by",
    "has_key",
    "has_keys",
    "has_any_keys",
];

/// A many-to-many relation a key may cross: the join table, the column
/// naming the current object and the column naming the other.
struct ManyToMany {
    table: &'static str,
    own: &'static str,
    other: &'static str,
    target: &'static str,
}

fn many_to_many(resource: &Resource, name: &str) -> Option<ManyToMany> {
    let (table, own, other, target) = match (resource.type_name, name) {
        ("host", "groups") => ("group_hosts", "host_id", "group_id", "group"),
        ("host", "inventory_sources") => (
            "host_inventory_sources",
            "host_id",
            "inventory_source_id",
            "inventory_source",
        ),
        ("group", "hosts") => ("group_hosts", "group_id", "host_id", "host"),
        ("group", "children") => ("group_children", "parent_id", "child_id", "group"),
        ("group", "parents") => ("group_children", "child_id", "parent_id", "group"),
        _ => return None,
    };
    Some(ManyToMany {
        table,
        own,
        other,
        target,
    })
}

#[derive(Default)]
struct Compiler {
    params: Vec<FilterParam>,
    aliases: usize,
}

impl Compiler {
    fn param(&mut self, value: FilterParam) -> &'static str {
        self.params.push(value);
        "?"
    }

    /// Aliases of subqueries: a prefix no other query builder uses.
    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("hf{}", self.aliases)
    }

    fn expr(&mut self, expr: &Expr) -> Result<String, FilterError> {
        Ok(match expr {
            Expr::And(items) => self.joined(items, " AND ")?,
            Expr::Or(items) => self.joined(items, " OR ")?,
            // A comparison with NULL is unknown; `not` of it must still hold.
            Expr::Not(inner) => format!("(NOT coalesce({}, false))", self.expr(inner)?),
            Expr::Term(term) => self.term(term)?,
        })
    }

    fn joined(&mut self, items: &[Expr], op: &str) -> Result<String, FilterError> {
        let parts = items
            .iter()
            .map(|item| self.expr(item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(format!("({})", parts.join(op)))
    }

    fn term(&mut self, term: &Term) -> Result<String, FilterError> {
        let parts: Vec<&str> = term.key.split("__").collect();
        if parts.iter().any(|p| p.is_empty()) {
            return fail(term.key_pos, format!("Invalid key \"{}\"", term.key));
        }
        if parts.first() == Some(&"ansible_facts") {
            return self.facts(term, &parts[1..]);
        }
        let mut resource: &'static Resource = &HOST;
        let mut alias = "{o}".to_string();
        let mut sql = String::new();
        let mut closers = 0;
        let mut index = 0;
        loop {
            let Some(&name) = parts.get(index) else {
                return fail(term.key_pos, format!("Invalid key \"{}\"", term.key));
            };
            let next = parts.get(index + 1).copied();
            if name == "search" && next.is_none() {
                sql.push_str(&self.search(resource, &alias, &term.value));
                break;
            }
            if let Some(m2m) = many_to_many(resource, name) {
                let Some(target) = crate::resources::by_type(m2m.target) else {
                    return fail(term.key_pos, format!("Cannot filter across \"{name}\""));
                };
                let join = self.alias();
                let inner = self.alias();
                sql.push_str(&format!(
                    "{} IN (SELECT {join}.{} FROM {} {join} WHERE {join}.{} IN (SELECT {} FROM {} WHERE ",
                    column(resource, &ID, &alias),
                    m2m.own,
                    m2m.table,
                    m2m.other,
                    column(target, &ID, &inner),
                    from_clause(target, &inner),
                ));
                closers += 2;
                resource = target;
                alias = inner;
                // `groups=5` and `groups__in=1,2` compare the related id.
                if next.is_none_or(|n| lookup_named(n).is_some()) {
                    sql.push_str(&self.comparison(resource, &ID, &alias, next, term)?);
                    if parts.len() > index + 2 {
                        return fail(term.key_pos, format!("Invalid key \"{}\"", term.key));
                    }
                    break;
                }
                index += 1;
                continue;
            }
            let Some(field) = resource.field(name) else {
                return fail(
                    term.key_pos,
                    format!("No field \"{name}\" on {}", resource.type_name),
                );
            };
            if field.secret || field.write_only || !field.filterable {
                return fail(
                    term.key_pos,
                    format!("Filtering on \"{name}\" is not allowed"),
                );
            }
            if let (Kind::Fk(target), Some(next_name)) = (field.kind, next)
                && lookup_named(next_name).is_none()
            {
                let Some(target) = crate::resources::by_type(target) else {
                    return fail(term.key_pos, format!("Cannot filter across \"{name}\""));
                };
                let inner = self.alias();
                sql.push_str(&format!(
                    "{} IN (SELECT {} FROM {} WHERE ",
                    column(resource, field, &alias),
                    column(target, &ID, &inner),
                    from_clause(target, &inner),
                ));
                closers += 1;
                resource = target;
                alias = inner;
                index += 1;
                continue;
            }
            if parts.len() > index + 2 {
                return fail(term.key_pos, format!("Invalid key \"{}\"", term.key));
            }
            sql.push_str(&self.comparison(resource, field, &alias, next, term)?);
            break;
        }
        sql.push_str(&")".repeat(closers));
        Ok(format!("({sql})"))
    }

    /// `search=text`: the text in any of the resource's search fields.
    fn search(&mut self, resource: &Resource, alias: &str, value: &Raw) -> String {
        let pattern = format!("%{}%", escape_like(value.text()));
        let any: Vec<String> = resource
            .search
            .iter()
            .filter_map(|name| resource.field(name))
            .map(|field| {
                let p = self.param(FilterParam::Text(pattern.clone()));
                format!("({})::text ILIKE {p}", column(resource, field, alias))
            })
            .collect();
        if any.is_empty() {
            "FALSE".into()
        } else {
            format!("({})", any.join(" OR "))
        }
    }

    /// One field compared by `lookup` (a name, `exact` when absent).
    fn comparison(
        &mut self,
        resource: &Resource,
        field: &Field,
        alias: &str,
        lookup: Option<&str>,
        term: &Term,
    ) -> Result<String, FilterError> {
        let lookup = match lookup {
            None => Lookup::Exact,
            Some(name) => match lookup_named(name) {
                Some(lookup) => lookup,
                None => {
                    return fail(
                        term.key_pos,
                        format!("Unsupported lookup \"{name}\" in \"{}\"", term.key),
                    );
                }
            },
        };
        let raw = &term.value;
        let bare = column(resource, field, alias);
        let typed = format!("({bare}){}", cast(field.kind));
        let text = format!("({bare})::text");
        let bad = |what: &str| {
            fail::<String>(
                term.value_pos,
                format!(
                    "Invalid value \"{}\" for \"{}\": {what}",
                    raw.text(),
                    term.key
                ),
            )
        };
        Ok(match lookup {
            Lookup::Exact | Lookup::IExact if raw.is_null() => format!("{bare} IS NULL"),
            Lookup::Exact => match typed_value(field.kind, raw.text()) {
                Some(value) => format!("{typed} = {}", self.param(value)),
                None => return bad(expected(field.kind)),
            },
            Lookup::IExact => {
                let p = self.param(FilterParam::Text(raw.text().to_string()));
                format!("lower({text}) = lower({p})")
            }
            Lookup::Contains
            | Lookup::IContains
            | Lookup::StartsWith
            | Lookup::IStartsWith
            | Lookup::EndsWith
            | Lookup::IEndsWith => {
                let escaped = escape_like(raw.text());
                let (pattern, op) = match lookup {
                    Lookup::Contains => (format!("%{escaped}%"), "LIKE"),
                    Lookup::IContains => (format!("%{escaped}%"), "ILIKE"),
                    Lookup::StartsWith => (format!("{escaped}%"), "LIKE"),
                    Lookup::IStartsWith => (format!("{escaped}%"), "ILIKE"),
                    Lookup::EndsWith => (format!("%{escaped}"), "LIKE"),
                    _ => (format!("%{escaped}"), "ILIKE"),
                };
                let p = self.param(FilterParam::Text(pattern));
                format!("{text} {op} {p}")
            }
            Lookup::Regex | Lookup::IRegex => {
                let op = if lookup == Lookup::Regex { "~" } else { "~*" };
                let p = self.param(FilterParam::Text(raw.text().to_string()));
                format!("{text} {op} {p}")
            }
            Lookup::Gt | Lookup::Gte | Lookup::Lt | Lookup::Lte => {
                let op = match lookup {
                    Lookup::Gt => ">",
                    Lookup::Gte => ">=",
                    Lookup::Lt => "<",
                    _ => "<=",
                };
                match typed_value(field.kind, raw.text()) {
                    Some(value) => format!("{typed} {op} {}", self.param(value)),
                    None => return bad(expected(field.kind)),
                }
            }
            Lookup::In => {
                let items: Vec<&str> = raw.text().split(',').collect();
                if matches!(field.kind, Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_)) {
                    let Some(ids) = items
                        .iter()
                        .map(|i| i.trim().parse::<i64>().ok())
                        .collect::<Option<Vec<_>>>()
                    else {
                        return bad("expected integers separated by commas");
                    };
                    format!("{typed} = ANY({})", self.param(FilterParam::IntList(ids)))
                } else {
                    let list = items.iter().map(|s| s.to_string()).collect();
                    format!("{text} = ANY({})", self.param(FilterParam::TextList(list)))
                }
            }
            Lookup::IsNull => match parse_bool(&Value::String(raw.text().to_string())) {
                Some(true) => format!("{bare} IS NULL"),
                Some(false) => format!("{bare} IS NOT NULL"),
                None => return bad("expected true or false"),
            },
        })
    }

    /// `ansible_facts__a__b=c`: the facts contain `{"a": {"b": c}}`, as AWX
    /// asks with `ansible_facts__contains`.
    fn facts(&mut self, term: &Term, path: &[&str]) -> Result<String, FilterError> {
        let mut path = path.to_vec();
        if path.last() == Some(&"exact") {
            path.pop();
        }
        if let Some(last) = path.last()
            && FACT_LOOKUPS.contains(last)
        {
            return fail(
                term.key_pos,
                format!("ansible_facts does not support searching with __{last}"),
            );
        }
        if path.is_empty() {
            return fail(term.key_pos, "ansible_facts needs a key to match");
        }
        let mut value = match &term.value {
            Raw::Quoted(text) => Value::String(text.clone()),
            Raw::Bare(text) => fact_value(text),
        };
        for piece in path.iter().rev() {
            let (name, list) = match piece.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (*piece, false),
            };
            if name.is_empty() {
                return fail(term.key_pos, format!("Invalid key \"{}\"", term.key));
            }
            let inner = if list {
                Value::Array(vec![value])
            } else {
                value
            };
            let mut object = Map::new();
            object.insert(name.to_string(), inner);
            value = Value::Object(object);
        }
        let p = self.param(FilterParam::Json(value));
        Ok(format!("({{o}}.ansible_facts @> {p}::jsonb)"))
    }
}

/// A bare value as AWX types it for facts: `null`, booleans, integers,
/// decimals, else text.
fn fact_value(text: &str) -> Value {
    match text {
        "null" => return Value::Null,
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(unsigned) {
        if let Ok(n) = text.trim_start_matches('+').parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(n) = text.trim_start_matches('+').parse::<u64>() {
            return Value::from(n);
        }
    }
    if let Some((whole, fraction)) = unsigned.split_once('.')
        && digits(whole)
        && digits(fraction)
        && let Some(n) = text
            .trim_start_matches('+')
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn cast(kind: Kind) -> &'static str {
    match kind {
        Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => "::int8",
        Kind::Float => "::float8",
        Kind::Bool => "::bool",
        Kind::DateTime => "::timestamptz",
        Kind::Str(_) | Kind::Choice(_) | Kind::VarsText | Kind::Json => "::text",
    }
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => "expected an integer",
        Kind::Float => "expected a number",
        Kind::Bool => "expected true or false",
        Kind::DateTime => "expected a date or an ISO 8601 time",
        _ => "expected text",
    }
}

/// A value typed as the field's kind compares it.
fn typed_value(kind: Kind, text: &str) -> Option<FilterParam> {
    match kind {
        Kind::Int(..) | Kind::IntChoice(_) | Kind::Fk(_) => {
            text.trim().parse().ok().map(FilterParam::Int)
        }
        Kind::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(FilterParam::Float),
        Kind::Bool => parse_bool(&Value::String(text.to_string())).map(FilterParam::Bool),
        Kind::DateTime => parse_time(text).map(FilterParam::Time),
        Kind::Str(_) | Kind::Choice(_) | Kind::VarsText | Kind::Json => {
            Some(FilterParam::Text(text.to_string()))
        }
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

/// LIKE's wildcards taken literally (backslash is PostgreSQL's default escape).
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(filter: &str) -> Compiled {
        match compile(filter) {
            Ok(compiled) => compiled,
            Err(err) => panic!("{filter}: {err}"),
        }
    }

    fn err(filter: &str) -> FilterError {
        match compile(filter) {
            Ok(compiled) => panic!("{filter} compiled to {}", compiled.sql),
            Err(err) => err,
        }
    }

    fn text(s: &str) -> FilterParam {
        FilterParam::Text(s.into())
    }

    #[test]
    fn a_plain_term_compares_the_host_column() {
        let c = ok("name=web1");
        assert_eq!(c.sql, "(({o}.\"name\")::text = ?)");
        assert_eq!(c.params, vec![text("web1")]);
    }

    #[test]
    fn lookups_become_like_patterns_with_wildcards_escaped() {
        let c = ok("name__icontains=we_b%");
        assert_eq!(c.sql, "(({o}.\"name\")::text ILIKE ?)");
        assert_eq!(c.params, vec![text("%we\\_b\\%%")]);
        assert_eq!(ok("name__startswith=db").params, vec![text("db%")]);
        assert_eq!(ok("name__iendswith=.com").params, vec![text("%.com")]);
        assert!(ok("name__contains=x").sql.contains(" LIKE ?"));
        assert!(
            ok("name__iexact=X")
                .sql
                .contains("lower(({o}.\"name\")::text) = lower(?)")
        );
        assert!(ok("name__regex=^w").sql.contains(" ~ ?"));
        assert!(ok("name__iregex=^w").sql.contains(" ~* ?"));
    }

    #[test]
    fn values_are_typed_by_the_field_never_spliced() {
        let c = ok("enabled=true and id__gt=3 and inventory=7");
        assert_eq!(
            c.params,
            vec![
                FilterParam::Bool(true),
                FilterParam::Int(3),
                FilterParam::Int(7)
            ]
        );
        assert!(c.sql.contains("(({o}.\"enabled\")::bool = ?)"));
        assert!(c.sql.contains("(({o}.\"id\")::int8 > ?)"));
        let hostile = ok("name=\"x' OR 1=1; DROP TABLE hosts; --\"");
        assert!(!hostile.sql.contains("DROP"));
        assert_eq!(
            hostile.params,
            vec![text("x' OR 1=1; DROP TABLE hosts; --")]
        );
    }

    #[test]
    fn in_and_isnull() {
        let c = ok("name__in=a,b and id__in=1,2 and last_job__isnull=true");
        assert_eq!(
            c.params,
            vec![
                FilterParam::TextList(vec!["a".into(), "b".into()]),
                FilterParam::IntList(vec![1, 2]),
            ]
        );
        assert!(c.sql.contains("= ANY(?)"));
        assert!(c.sql.contains("{o}.\"last_job_id\" IS NULL"));
        assert!(ok("last_job__isnull=false").sql.contains("IS NOT NULL"));
        assert!(ok("description=null").sql.contains("IS NULL"));
        // Quoted, `null` is text.
        assert_eq!(ok("description=\"null\"").params, vec![text("null")]);
    }

    #[test]
    fn groups_cross_the_join_table() {
        let c = ok("groups__name=prod");
        assert_eq!(
            c.sql,
            "({o}.\"id\" IN (SELECT hf1.host_id FROM group_hosts hf1 WHERE hf1.group_id IN \
             (SELECT hf2.\"id\" FROM groups hf2 WHERE (hf2.\"name\")::text = ?)))"
        );
        assert_eq!(c.params, vec![text("prod")]);
        // A bare relation compares ids.
        let ids = ok("groups=4");
        assert!(ids.sql.contains("(hf2.\"id\")::int8 = ?"), "{}", ids.sql);
        assert_eq!(ids.params, vec![FilterParam::Int(4)]);
        // Deeper: a group's parents.
        assert!(
            ok("groups__parents__name=all")
                .sql
                .contains("group_children")
        );
    }

    #[test]
    fn foreign_keys_are_crossed_through_their_declarations() {
        let c = ok("inventory__organization__name=Default");
        assert!(
            c.sql.starts_with("({o}.\"inventory_id\" IN (SELECT hf1.\"id\" FROM inventories hf1 WHERE hf1.\"organization_id\" IN (SELECT hf2.\"id\" FROM organizations hf2 WHERE"),
            "{}",
            c.sql
        );
        assert_eq!(c.params, vec![text("Default")]);
    }

    #[test]
    fn search_looks_in_the_search_fields() {
        let c = ok("search=web");
        assert!(c.sql.contains("ILIKE ? OR"), "{}", c.sql);
        assert_eq!(c.params, vec![text("%web%"), text("%web%")]);
        assert!(ok("groups__search=db").sql.contains("group_hosts"));
    }

    #[test]
    fn facts_are_matched_by_containment() {
        let c = ok("ansible_facts__ansible_distribution=Ubuntu");
        assert_eq!(c.sql, "({o}.ansible_facts @> ?::jsonb)");
        assert_eq!(
            c.params,
            vec![FilterParam::Json(json!({"ansible_distribution": "Ubuntu"}))]
        );
        let nested = ok("ansible_facts__a__b__c=1");
        assert_eq!(
            nested.params,
            vec![FilterParam::Json(json!({"a": {"b": {"c": 1}}}))]
        );
        let list = ok("ansible_facts__ansible_processor[]=GenuineIntel");
        assert_eq!(
            list.params,
            vec![FilterParam::Json(
                json!({"ansible_processor": ["GenuineIntel"]})
            )]
        );
        let typed = ok(
            "ansible_facts__a=true or ansible_facts__b=null or ansible_facts__c=1.5 or ansible_facts__d=\"7\" or ansible_facts__e__exact=-3",
        );
        assert_eq!(
            typed.params,
            vec![
                FilterParam::Json(json!({"a": true})),
                FilterParam::Json(json!({"b": null})),
                FilterParam::Json(json!({"c": 1.5})),
                FilterParam::Json(json!({"d": "7"})),
                FilterParam::Json(json!({"e": -3})),
            ]
        );
    }

    #[test]
    fn facts_refuse_lookups_as_awx_does() {
        let e = err("name=a and ansible_facts__os__icontains=x");
        assert_eq!(e.position, 11);
        assert!(
            e.message
                .contains("does not support searching with __icontains")
        );
        assert!(err("ansible_facts=1").message.contains("needs a key"));
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let c = ok("name=a or name=b and enabled=true");
        assert_eq!(
            c.sql,
            "((({o}.\"name\")::text = ?) OR ((({o}.\"name\")::text = ?) AND (({o}.\"enabled\")::bool = ?)))"
        );
        let grouped = ok("(name=a or name=b) and enabled=true");
        assert!(grouped.sql.starts_with("((("), "{}", grouped.sql);
        assert!(grouped.sql.find(" OR ") < grouped.sql.find(" AND "));
        assert!(
            grouped.sql.ends_with(" AND (({o}.\"enabled\")::bool = ?))"),
            "{}",
            grouped.sql
        );
    }

    #[test]
    fn not_negates_null_safely() {
        let c = ok("not name=a and not (groups__name=x or name=b)");
        assert!(c.sql.contains("(NOT coalesce("), "{}", c.sql);
        // `not` as a key is still a key.
        assert!(err("not=1").message.contains("No field \"not\""));
    }

    #[test]
    fn quoted_keys_and_values_and_empty_values() {
        let c = ok("\"name\"=\"a b\" and description=\"\" and description=");
        assert_eq!(c.params, vec![text("a b"), text(""), text("")]);
        assert_eq!(ok("name = web").params, vec![text("web")]);
        assert_eq!(ok("name=\"x=(y) and z\"").params, vec![text("x=(y) and z")]);
        assert_eq!(ok("name__icontains=a AND name=b OR name=c").params.len(), 3);
    }

    #[test]
    fn unknown_fields_lookups_and_secrets_are_refused() {
        assert!(
            err("bogus=1")
                .message
                .contains("No field \"bogus\" on host")
        );
        assert_eq!(err("name=a and bogus=1").position, 11);
        assert!(err("name__like=a").message.contains("Unsupported lookup"));
        assert!(err("name__icontains__x=a").message.contains("Invalid key"));
        assert!(
            err("variables__foo=bar")
                .message
                .contains("Unsupported lookup \"foo\"")
        );
        let secret = err("inventory__created_by__password=x");
        assert!(secret.message.contains("password"), "{secret}");
        assert!(
            err("has_active_failures=true")
                .message
                .contains("not allowed")
        );
    }

    #[test]
    fn bad_values_name_their_position() {
        let e = err("name=a and id=abc");
        assert_eq!(e.position, 14);
        assert!(e.message.contains("expected an integer"), "{e}");
        assert_eq!(err("enabled=maybe").position, 8);
        assert_eq!(err("id__in=1,x").position, 7);
        assert_eq!(err("created__gt=yesterday").position, 12);
    }

    #[test]
    fn syntax_errors_name_their_position() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("   ", 0),
            ("name", 4),
            ("name web", 5),
            ("name=a name=b", 7),
            ("name=a and", 10),
            ("name=a or or name=b", 10),
            ("(name=a", 0),
            ("name=a)", 6),
            ("()", 1),
            ("name=\"abc", 5),
            ("=a", 0),
            ("name=a and (", 12),
            ("name==a", 5),
            ("name=a \"b\"", 7),
            ("a__=1", 0),
        ];
        for (filter, position) in cases {
            let e = err(filter);
            assert_eq!(e.position, *position, "{filter:?}: {e}");
            assert!(e.to_string().contains(&format!("at position {position}")));
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let e = err("name=\"héllo\" and é=1");
        assert_eq!(e.position, 17, "{e}");
    }

    #[test]
    fn hostile_input_never_panics() {
        let deep = format!("{}name=a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(err(&deep).message.contains("nests too deeply"));
        let nots = format!("{}name=a", "not ".repeat(10_000));
        assert!(err(&nots).message.contains("nests too deeply"));
        let many = vec!["name=a"; 1000].join(" or ");
        assert!(err(&many).message.contains("terms"));
        let inputs = [
            "\"",
            "\"\"",
            "\"\"=",
            "=",
            ")",
            "(((",
            ")))",
            "name=\u{0}",
            "ansible_facts__[]=1",
            "ansible_facts__a[]__b[]=",
            "ansible_facts____a=1",
            "__=__",
            "name=a\u{2003}and\u{2003}name=b",
            "💥=💥",
            "groups__groups__groups=1",
            "groups__hosts__groups__hosts__name=x",
            "id=99999999999999999999999",
            "ansible_facts__n=99999999999999999999999",
            "ansible_facts__n=-",
            "ansible_facts__n=1.",
            "not",
            "not not",
            "and",
            "or=1 or and=2",
        ];
        for input in inputs {
            let _ = compile(input);
        }
        // Every prefix of a valid filter either compiles or fails cleanly.
        let full =
            "(name__icontains=\"web 1\" or groups__name=prod) and not ansible_facts__os[]__x=1";
        for (i, _) in full.char_indices() {
            let _ = compile(&full[..i]);
        }
    }

    #[test]
    fn numbering_turns_marks_into_positional_parameters() {
        assert_eq!(
            number_params("a = ? AND b IN (?)", 3),
            "a = $3 AND b IN ($4)"
        );
        let c = ok("name=a and groups__name=b");
        let numbered = number_params(&c.sql.replace("{o}", "h"), 1);
        assert!(numbered.contains("$1") && numbered.contains("$2") && !numbered.contains('?'));
    }

    #[test]
    fn unicode_spaces_separate_like_ascii_ones() {
        assert_eq!(ok("name=a\u{2003}and\u{00a0}name=b").params.len(), 2);
    }
}
