//! SQL for sub-lists (`/api/v2/<parent>/{id}/<name>/`): the condition that
//! selects a sub-list's members, the statements that attach and detach
//! them, and the facts about roles and groups their checks need. Table and
//! column names come from the static sub-list declarations, never from a
//! request.

use crate::resource::Resource;
use crate::store::StoreError;
use crate::store::pool::Queryable;
use crate::store::resource::{self as store, Condition};

/// How a sub-list's members relate to its parent.
#[derive(Debug, Clone, Copy)]
pub enum Relation {
    /// Children whose foreign key `fk` points to the parent.
    Children { fk: &'static str },
    /// Users holding the parent's `role` directly.
    RoleHolders { role: &'static str },
    /// A join table `(parent_col, child_col)`.
    Join {
        table: &'static str,
        parent_col: &'static str,
        child_col: &'static str,
    },
    /// Objects whose `role` the parent user holds directly (read-only).
    HeldBy { role: &'static str },
    /// Roles granted to the parent user.
    UserRoles,
    /// Roles granted to the parent team.
    TeamRoles,
    /// Users the parent role is granted to.
    RoleUsers,
    /// Teams the parent role is granted to.
    RoleTeams,
    /// The parent object's own roles (read-only).
    ObjectRoles,
    /// Activity stream entries about the parent (read-only).
    Activity,
    /// Children seen by whoever sees the parent (a job's events).
    Owned { fk: &'static str },
    /// Objects a condition relates to the parent (`?` is the parent's id;
    /// read-only, listed as the caller may see them).
    Matching { condition: &'static str },
}

/// A `Matching` condition: the ad hoc commands that ran on host `?`.
pub const AD_HOC_COMMANDS_OF_HOST: &str =
    "{o}.id IN (SELECT ad_hoc_command_id FROM ad_hoc_command_events WHERE host_id = ?)";

/// A `Matching` condition: the instances instance `?` has a mesh link with.
pub const PEERS_OF_INSTANCE: &str =
    "{o}.hostname IN (SELECT unnest(mesh_peers) FROM instances WHERE id = ?)";

/// A `Matching` condition: the ad hoc commands that ran on a host of group `?`.
pub const AD_HOC_COMMANDS_OF_GROUP: &str = "{o}.id IN (SELECT e.ad_hoc_command_id FROM ad_hoc_command_events e
                                    JOIN group_hosts gh ON gh.host_id = e.host_id WHERE gh.group_id = ?)";

/// The condition on `child` rows that selects the members `relation`
/// relates to object `id` of `parent`.
pub fn members(relation: Relation, parent: &Resource, child: &Resource, id: i64) -> Condition {
    match relation {
        Relation::Children { fk } => {
            let col = child
                .field(fk)
                .map(|f| store::column(child, f, "{o}"))
                .unwrap_or_else(|| "NULL".into());
            Condition::new(format!("{col} = ?"), vec![Box::new(id)])
        }
        Relation::RoleHolders { role } => Condition::new(
            "{o}.id IN (SELECT ru.user_id FROM role_users ru JOIN roles r ON r.id = ru.role_id
                         WHERE r.content_type = ? AND r.object_id = ? AND r.role_field = ?)",
            vec![
                Box::new(parent.type_name.to_string()),
                Box::new(id),
                Box::new(role.to_string()),
            ],
        ),
        Relation::Join {
            table,
            parent_col,
            child_col,
        } => Condition::new(
            format!("{{o}}.id IN (SELECT {child_col} FROM {table} WHERE {parent_col} = ?)"),
            vec![Box::new(id)],
        ),
        Relation::HeldBy { role } => Condition::new(
            "{o}.id IN (SELECT r.object_id FROM roles r JOIN role_users ru ON ru.role_id = r.id
                         WHERE r.content_type = ? AND r.role_field = ? AND ru.user_id = ?)",
            vec![
                Box::new(child.type_name.to_string()),
                Box::new(role.to_string()),
                Box::new(id),
            ],
        ),
        Relation::UserRoles => Condition::new(
            "{o}.id IN (SELECT role_id FROM role_users WHERE user_id = ?)",
            vec![Box::new(id)],
        ),
        Relation::TeamRoles => Condition::new(
            "{o}.id IN (SELECT role_id FROM role_teams WHERE team_id = ?)",
            vec![Box::new(id)],
        ),
        Relation::RoleUsers => Condition::new(
            "{o}.id IN (SELECT user_id FROM role_users WHERE role_id = ?)",
            vec![Box::new(id)],
        ),
        Relation::RoleTeams => Condition::new(
            "{o}.id IN (SELECT team_id FROM role_teams WHERE role_id = ?)",
            vec![Box::new(id)],
        ),
        Relation::ObjectRoles => Condition::new(
            "{o}.content_type = ? AND {o}.object_id = ?",
            vec![Box::new(parent.type_name.to_string()), Box::new(id)],
        ),
        Relation::Owned { fk } => members(Relation::Children { fk }, parent, child, id),
        Relation::Activity => Condition::new(
            "{o}.id IN (SELECT entry_id FROM activity_stream_objects WHERE object_type = ? AND object_id = ?)",
            vec![Box::new(parent.type_name.to_string()), Box::new(id)],
        ),
        Relation::Matching { condition } => Condition::new(condition, vec![Box::new(id)]),
    }
}

/// Who holds a role directly: users and teams, each through its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User,
    Team,
}

/// Grants role `role` to `member` (a user or a team, as `holder` says);
/// granting it again changes nothing. Returns nothing.
pub async fn grant(
    client: &impl Queryable,
    holder: Holder,
    role: i64,
    member: i64,
) -> Result<(), StoreError> {
    let sql = match holder {
        Holder::User => {
            "INSERT INTO role_users (role_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        }
        Holder::Team => {
            "INSERT INTO role_teams (role_id, team_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        }
    };
    client.run(sql, &[&role, &member]).await?;
    Ok(())
}

/// Revokes role `role` from `member` (a user or a team, as `holder` says).
/// Returns nothing.
pub async fn revoke(
    client: &impl Queryable,
    holder: Holder,
    role: i64,
    member: i64,
) -> Result<(), StoreError> {
    let sql = match holder {
        Holder::User => "DELETE FROM role_users WHERE role_id = $1 AND user_id = $2",
        Holder::Team => "DELETE FROM role_teams WHERE role_id = $1 AND team_id = $2",
    };
    client.run(sql, &[&role, &member]).await?;
    Ok(())
}

/// Links `parent` to `child` in join table `table` (columns `parent_col`,
/// `child_col`); linking them again changes nothing. Returns nothing.
pub async fn link(
    client: &impl Queryable,
    (table, parent_col, child_col): (&str, &str, &str),
    parent: i64,
    child: i64,
) -> Result<(), StoreError> {
    client
        .run(
            &format!(
                "INSERT INTO {table} ({parent_col}, {child_col}) VALUES ($1, $2) ON CONFLICT DO NOTHING"
            ),
            &[&parent, &child],
        )
        .await?;
    Ok(())
}

/// Removes the link of `parent` to `child` from join table `table`
/// (columns `parent_col`, `child_col`). Returns nothing.
pub async fn unlink(
    client: &impl Queryable,
    (table, parent_col, child_col): (&str, &str, &str),
    parent: i64,
    child: i64,
) -> Result<(), StoreError> {
    client
        .run(
            &format!("DELETE FROM {table} WHERE {parent_col} = $1 AND {child_col} = $2"),
            &[&parent, &child],
        )
        .await?;
    Ok(())
}

/// Role `id`'s object (content type and id; both `None` for a system role)
/// and role field; `None` when there is no such role.
pub async fn role_target(
    client: &impl Queryable,
    id: i64,
) -> Result<Option<(Option<String>, Option<i64>, String)>, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT content_type, object_id, role_field FROM roles WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(match row {
        Some(row) => Some((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)),
        None => None,
    })
}

/// The id of the role `role_field` of object `object_id` of type
/// `content_type`; `None` when there is no such role.
pub async fn role_id(
    client: &impl Queryable,
    content_type: &str,
    object_id: i64,
    role_field: &str,
) -> Result<Option<i64>, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT id FROM roles WHERE content_type = $1 AND object_id = $2 AND role_field = $3",
            &[&content_type, &object_id, &role_field],
        )
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// The name of the credential type that job template `template` already
/// has another credential of (vaults: with the same vault id) that
/// `credential` would clash with; `None` when attaching it is fine.
pub async fn credential_clash(
    client: &impl Queryable,
    template: i64,
    credential: i64,
) -> Result<Option<String>, StoreError> {
    let row = client
        .fetch_opt(
            "SELECT t.name FROM job_template_credentials jc
               JOIN credentials c ON c.id = jc.credential_id
               JOIN credentials n ON n.id = $2
               JOIN credential_types t ON t.id = n.credential_type_id
              WHERE jc.job_template_id = $1 AND c.id <> n.id
                AND c.credential_type_id = n.credential_type_id
                AND coalesce(c.inputs->>'vault_id', '') = coalesce(n.inputs->>'vault_id', '')",
            &[&template, &credential],
        )
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Whether group `group` is somewhere below group `top` (a child, a
/// grandchild, ...).
pub async fn group_is_below(
    client: &impl Queryable,
    group: i64,
    top: i64,
) -> Result<bool, StoreError> {
    let row = client
        .fetch_one(
            "WITH RECURSIVE below(id) AS (
                 SELECT child_id FROM group_children WHERE parent_id = $1
                 UNION SELECT gc.child_id FROM group_children gc JOIN below b ON gc.parent_id = b.id)
             SELECT EXISTS (SELECT 1 FROM below WHERE id = $2)",
            &[&top, &group],
        )
        .await?;
    Ok(row.try_get(0)?)
}
