//! Every resource of the API, declared once; `by_type` and `by_path` find them.

pub mod organizations;
pub mod teams;
pub mod tokens;
pub mod users;

use crate::resource::Resource;

/// Every declared resource.
pub const ALL: &[&Resource] = &[
    &organizations::ORGANIZATION,
    &users::USER,
    &teams::TEAM,
    &tokens::TOKEN,
];

/// A resource by its objects' `type`.
pub fn by_type(type_name: &str) -> Option<&'static Resource> {
    ALL.iter().copied().find(|r| r.type_name == type_name)
}

/// A resource by its URL segment.
pub fn by_path(path: &str) -> Option<&'static Resource> {
    ALL.iter().copied().find(|r| r.path == path)
}
