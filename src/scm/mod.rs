//! Project files: where a project's checkout lives and which of its files
//! are playbooks.

pub mod git;

use std::path::{Path, PathBuf};

/// Directories that hold parts of playbooks, never playbooks (AWX skips them too).
const NOT_PLAYBOOK_DIRS: [&str; 10] = [
    "roles",
    "tasks",
    "handlers",
    "vars",
    "defaults",
    "meta",
    "group_vars",
    "host_vars",
    "templates",
    "files",
];

/// Where a project's files are, if rawx has them: a manual project's
/// `local_path` under the projects root, or an SCM project's checkout.
pub fn project_dir(root: &Path, project: i64, scm_type: &str, local_path: &str) -> Option<PathBuf> {
    let dir = if scm_type.is_empty() {
        if local_path.is_empty() {
            return None;
        }
        root.join(local_path)
    } else {
        cache_dir(root, project)
    };
    dir.is_dir().then_some(dir)
}

/// Where an SCM project's checkout (its cache, which project updates
/// refresh and jobs copy from) lives.
pub fn cache_dir(root: &Path, project: i64) -> PathBuf {
    root.join(format!("_{project}"))
}

/// The playbooks of a project, relative to its directory and sorted; `None`
/// when rawx does not have the project's files.
pub fn playbooks(
    root: &Path,
    project: i64,
    scm_type: &str,
    local_path: &str,
) -> Option<Vec<String>> {
    files(root, project, scm_type, local_path, &|path, name| {
        (name.ends_with(".yml") || name.ends_with(".yaml")) && could_be_playbook(path)
    })
}

/// The files of a project that could be inventories (AWX's
/// `inventory_files`, offered as an SCM inventory source's `source_path`).
pub fn inventory_files(
    root: &Path,
    project: i64,
    scm_type: &str,
    local_path: &str,
) -> Option<Vec<String>> {
    files(root, project, scm_type, local_path, &could_be_inventory)
}

/// The files `keep` accepts, relative to the project's directory, sorted.
fn files(
    root: &Path,
    project: i64,
    scm_type: &str,
    local_path: &str,
    keep: &dyn Fn(&Path, &str) -> bool,
) -> Option<Vec<String>> {
    let dir = project_dir(root, project, scm_type, local_path)?;
    let mut found = Vec::new();
    walk(&dir, &dir, 0, &mut found, keep);
    found.sort();
    Some(found)
}

fn walk(
    base: &Path,
    dir: &Path,
    depth: usize,
    found: &mut Vec<String>,
    keep: &dyn Fn(&Path, &str) -> bool,
) {
    // Deep trees are vendored content, not playbooks; stop before a symlink loop could matter.
    if depth > 8 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !NOT_PLAYBOOK_DIRS.contains(&name.as_str()) {
                walk(base, &path, depth + 1, found, keep);
            }
        } else if keep(&path, &name)
            && let Ok(relative) = path.strip_prefix(base)
        {
            found.push(relative.to_string_lossy().into_owned());
        }
    }
}

/// A playbook is a YAML list of plays: mappings with `hosts` or an import.
fn could_be_playbook(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(serde_json::Value::Array(items)) = serde_yaml_ng::from_str::<serde_json::Value>(&text)
    else {
        return false;
    };
    items.iter().any(|item| {
        item.as_object().is_some_and(|play| {
            play.contains_key("hosts")
                || play.contains_key("import_playbook")
                || play.contains_key("ansible.builtin.import_playbook")
        })
    })
}

/// An inventory is a YAML or JSON mapping (static hosts or a plugin's
/// configuration), an INI file, or an executable script; playbooks,
/// `ansible.cfg` and files of other kinds are not.
fn could_be_inventory(path: &Path, name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    if name == "ansible.cfg" || name.starts_with("requirements.") {
        return false;
    }
    let executable = std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    let extension = Path::new(name).extension().and_then(|e| e.to_str());
    match extension {
        Some("yml" | "yaml" | "json") => {
            let Ok(text) = std::fs::read_to_string(path) else {
                return false;
            };
            matches!(
                serde_yaml_ng::from_str::<serde_json::Value>(&text),
                Ok(serde_json::Value::Object(_))
            )
        }
        Some("ini") => true,
        None => executable || looks_like_ini(path),
        // A script in any language is an inventory when it can run.
        Some(_) => executable,
    }
}

/// An INI inventory's first meaningful line is a `[section]` or a host.
fn looks_like_ini(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'))
        .is_some_and(|line| {
            (line.starts_with('[') && line.ends_with(']'))
                || line
                    .split_whitespace()
                    .next()
                    .is_some_and(|host| !host.contains(':') || host.contains('='))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_playbooks_and_skips_the_rest() {
        let root = tempfile::tempdir().expect("tempdir");
        let project = root.path().join("demo");
        std::fs::create_dir_all(project.join("roles/web/tasks")).expect("dirs");
        std::fs::create_dir_all(project.join("sub")).expect("dirs");
        std::fs::write(project.join("site.yml"), "- hosts: all\n  tasks: []\n").expect("write");
        std::fs::write(
            project.join("sub/more.yaml"),
            "- import_playbook: ../site.yml\n",
        )
        .expect("write");
        std::fs::write(project.join("vars.yml"), "a: 1\n").expect("write");
        std::fs::write(
            project.join("roles/web/tasks/main.yml"),
            "- name: x\n  debug: {}\n",
        )
        .expect("write");
        std::fs::write(project.join("hosts"), "[web]\nweb1 a=1\n").expect("write");
        std::fs::write(project.join("README.md"), "# hi\n").expect("write");
        let found = super::playbooks(root.path(), 1, "", "demo").expect("known");
        assert_eq!(found, ["site.yml", "sub/more.yaml"]);
        let inventories = super::inventory_files(root.path(), 1, "", "demo").expect("known");
        assert_eq!(inventories, ["hosts", "vars.yml"]);
        assert!(super::playbooks(root.path(), 1, "", "").is_none());
    }
}
