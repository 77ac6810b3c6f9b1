//! The route table, mounted as one scope per collection.
//!
//! actix tries every route registered before the one that matches, and a
//! pattern with `{id}` in it is a regex run with captures: with some two
//! hundred routes mounted flat, finding `POST /api/v2/hosts/` was a fifth
//! of the server's CPU for the request. A scope's prefix is a plain string
//! compare, so grouping `/api/v2/<collection>/...` under one scope leaves a
//! request only its own collection's routes to try, its plain paths before
//! its patterns. Patterns keep their order, where it matters (overlapping
//! patterns).

use actix_web::{Resource, Route, Scope, web};

/// What is mounted on one scope.
type OnScope = Box<dyn FnOnce(Scope) -> Scope>;

/// Routes collected before they are mounted.
#[derive(Default)]
pub struct Routes {
    /// `/api/v2/<collection>` (or `""`, for paths outside any collection:
    /// `/api/`, `/api/v2/`, `/api/login/`) and what goes under it, in
    /// first-seen order, each entry marked with whether its path has a
    /// pattern in it.
    scopes: Vec<(String, Vec<(bool, OnScope)>)>,
}

impl Routes {
    /// One route at `path`, its guards (the method) on its own resource as
    /// `ServiceConfig::route` does, so other methods fall through to later
    /// resources of the same path.
    pub fn route(&mut self, path: &str, route: Route) -> &mut Self {
        self.push(path, move |scope, rest| scope.route(rest, route))
    }

    /// The resource at `path`, as `build` sets it up.
    pub fn service(
        &mut self,
        path: &str,
        build: impl FnOnce(Resource) -> Resource + 'static,
    ) -> &mut Self {
        self.push(path, move |scope, rest| {
            scope.service(build(web::resource(rest)))
        })
    }

    fn push(
        &mut self,
        path: &str,
        mount: impl FnOnce(Scope, &str) -> Scope + 'static,
    ) -> &mut Self {
        let (prefix, rest) = collection_of(path).unwrap_or(("", path));
        let rest = rest.to_string();
        let entry: (bool, OnScope) = (
            rest.contains('{'),
            Box::new(move |scope| mount(scope, &rest)),
        );
        match self.scopes.iter_mut().find(|(p, _)| p == prefix) {
            Some((_, entries)) => entries.push(entry),
            None => self.scopes.push((prefix.to_string(), vec![entry])),
        }
        self
    }

    /// Mounts everything collected on `cfg`.
    pub fn mount(mut self, cfg: &mut web::ServiceConfig) {
        // The empty prefix matches every path: its scope goes last.
        self.scopes.sort_by_key(|(prefix, _)| prefix.is_empty());
        for (prefix, mut entries) in self.scopes {
            // Plain paths first (a string compare each, where a pattern is a
            // regex), in their order; then the patterns in theirs. A plain
            // path can only be matched by itself, so no request changes hands
            // except where a pattern would have shadowed the plain path.
            entries.sort_by_key(|(pattern, _)| *pattern);
            let scope = entries
                .into_iter()
                .fold(web::scope(&prefix), |scope, (_, on_scope)| on_scope(scope));
            cfg.service(scope);
        }
    }
}

/// `/api/v2/<collection>` and the rest of `path` (from its `/`), when the
/// path lies under a collection.
fn collection_of(path: &str) -> Option<(&str, &str)> {
    let after = path.strip_prefix("/api/v2/")?;
    let end = after.find('/')?;
    let collection = &after[..end];
    // A pattern segment cannot be a scope's plain prefix.
    if collection.is_empty() || collection.contains('{') {
        return None;
    }
    let split = "/api/v2/".len() + end;
    Some((&path[..split], &path[split..]))
}

#[cfg(test)]
mod tests {
    use super::collection_of;

    #[test]
    fn paths_split_at_their_collection() {
        assert_eq!(
            collection_of("/api/v2/hosts/"),
            Some(("/api/v2/hosts", "/"))
        );
        assert_eq!(
            collection_of("/api/v2/hosts/{id}/groups/"),
            Some(("/api/v2/hosts", "/{id}/groups/"))
        );
        assert_eq!(collection_of("/api/v2/"), None);
        assert_eq!(collection_of("/api/login/"), None);
        assert_eq!(collection_of("/api/v2/{kind}/"), None);
    }
}
