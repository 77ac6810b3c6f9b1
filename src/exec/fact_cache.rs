//! The jsonfile fact cache of a job with `use_fact_cache`, in the format of
//! the pinned ansible-core (2.19): one file `s1_<host>` per host holding
//! `{"__payload__": "<facts as JSON text>"}`, values possibly wrapped with
//! their origin tags. Before the run the hosts' stored facts are written
//! there; after it, files that changed are saved back, and a host whose
//! file disappeared has its facts cleared (as AWX does).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::store::{Db, StoreError, facts, settings};

/// The cache file prefix ansible-core 2.19's jsonfile plugin uses.
const PREFIX: &str = "s1_";

/// A job's fact cache directory and what was restored into it.
pub struct FactCache {
    /// The directory ansible's jsonfile plugin reads and writes.
    pub dir: PathBuf,
    /// The run's hosts: name → id.
    hosts: HashMap<String, i64>,
    /// Host → the modification time of the file written before the run.
    written: HashMap<String, SystemTime>,
}

/// Facts found after a run, read while the private data dir still exists.
pub struct Collected {
    found: Vec<(i64, Option<Value>)>,
}

/// A host name that can safely name a file in the cache directory.
fn file_name(host: &str) -> Option<String> {
    (!host.is_empty() && !host.contains('/') && host != "." && host != "..")
        .then(|| format!("{PREFIX}{host}"))
}

impl FactCache {
    /// Writes the stored facts of `hosts` (name → id; those newer than the
    /// `ANSIBLE_FACT_CACHE_TIMEOUT` setting) into `dir`.
    pub async fn restore(
        db: &Db,
        hosts: HashMap<String, i64>,
        dir: PathBuf,
    ) -> Result<FactCache, StoreError> {
        let timeout = settings::get(db, "ANSIBLE_FACT_CACHE_TIMEOUT")
            .await?
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        let _ = std::fs::create_dir_all(&dir);
        let mut written = HashMap::new();
        let names: HashMap<i64, &String> = hosts.iter().map(|(n, id)| (*id, n)).collect();
        let ids: Vec<i64> = names.keys().copied().collect();
        for (id, stored) in facts::recent(db, &ids, timeout).await? {
            let Some(host) = names.get(&id).map(|n| (*n).clone()) else {
                continue;
            };
            let Some(name) = file_name(&host) else {
                continue;
            };
            let document = serde_json::json!({"__payload__": stored.to_string()});
            let path = dir.join(name);
            if std::fs::write(&path, document.to_string()).is_ok()
                && let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified())
            {
                written.insert(host, modified);
            }
        }
        Ok(FactCache {
            dir,
            hosts,
            written,
        })
    }

    /// Reads what the run changed: files newer than what was written (or
    /// new), and restored files that are gone.
    pub fn collect(&self) -> Collected {
        let mut found = Vec::new();
        for (host, id) in &self.hosts {
            let Some(name) = file_name(host) else {
                continue;
            };
            let path = self.dir.join(name);
            match std::fs::metadata(&path).and_then(|m| m.modified()) {
                Ok(modified) => {
                    if self.written.get(host).is_some_and(|at| modified <= *at) {
                        continue;
                    }
                    if let Some(facts) = read(&path) {
                        found.push((*id, Some(facts)));
                    }
                }
                Err(_) if self.written.contains_key(host) => found.push((*id, None)),
                Err(_) => {}
            }
        }
        Collected { found }
    }
}

impl Collected {
    /// Stores the collected facts on their hosts.
    pub async fn save(self, db: &Db) -> Result<u64, StoreError> {
        facts::save(db, &self.found, chrono::Utc::now()).await
    }
}

/// A cache file's facts, without ansible-core's origin tags.
fn read(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    let document: Value = serde_json::from_str(&text).ok()?;
    // 2.19 wraps the facts as JSON text; older versions wrote them directly.
    let facts = match document.get("__payload__").and_then(Value::as_str) {
        Some(payload) => serde_json::from_str(payload).ok()?,
        None => document,
    };
    Some(untag(facts))
}

/// Replaces ansible-core's tagged values (`{"value": .., "tags": ..,
/// "__ansible_type": "_AnsibleTagged..."}`) by their plain value.
fn untag(value: Value) -> Value {
    match value {
        Value::Object(mut map) => {
            let tagged = map
                .get("__ansible_type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("_AnsibleTagged"));
            if tagged && let Some(inner) = map.remove("value") {
                return untag(inner);
            }
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, untag(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(untag).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn tagged_values_become_plain() {
        let tagged = json!({"custom": {"value": 42, "tags": [{"path": "/p.yml"}],
                                       "__ansible_type": "_AnsibleTaggedInt"},
                            "list": [{"value": "a", "tags": [], "__ansible_type": "_AnsibleTaggedStr"}],
                            "plain": {"nested": 1}});
        assert_eq!(
            super::untag(tagged),
            json!({"custom": 42, "list": ["a"], "plain": {"nested": 1}})
        );
    }

    #[test]
    fn cache_files_read_in_both_formats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let new = dir.path().join("s1_web");
        std::fs::write(&new, json!({"__payload__": "{\"a\": 1}"}).to_string()).expect("write");
        assert_eq!(super::read(&new), Some(json!({"a": 1})));
        let old = dir.path().join("web");
        std::fs::write(&old, "{\"b\": 2}").expect("write");
        assert_eq!(super::read(&old), Some(json!({"b": 2})));
        assert_eq!(super::file_name("../x"), None);
        assert_eq!(super::file_name("web1").as_deref(), Some("s1_web1"));
    }
}
