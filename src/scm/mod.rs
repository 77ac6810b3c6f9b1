//! Project files: where a project's checkout lives and which of its files
//! are playbooks.

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
        root.join(format!("_{project}"))
    };
    dir.is_dir().then_some(dir)
}

/// The playbooks of a project, relative to its directory and sorted; `None`
/// when rawx does not have the project's files.
pub fn playbooks(
    root: &Path,
    project: i64,
    scm_type: &str,
    local_path: &str,
) -> Option<Vec<String>> {
    let dir = project_dir(root, project, scm_type, local_path)?;
    let mut found = Vec::new();
    walk(&dir, &dir, 0, &mut found);
    found.sort();
    Some(found)
}

fn walk(base: &Path, dir: &Path, depth: usize, found: &mut Vec<String>) {
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
                walk(base, &path, depth + 1, found);
            }
        } else if (name.ends_with(".yml") || name.ends_with(".yaml"))
            && could_be_playbook(&path)
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
        let found = super::playbooks(root.path(), 1, "", "demo").expect("known");
        assert_eq!(found, ["site.yml", "sub/more.yaml"]);
        assert!(super::playbooks(root.path(), 1, "", "").is_none());
    }
}
