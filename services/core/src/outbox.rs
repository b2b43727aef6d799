//! State-change messages written to the transactional outbox
//! (`message_outbox`) in the same transaction as the change; the watcher
//! publishes them (the original published them from
//! `koschei/plugins/fedmsg_plugin/backend/__init__.py`). Each message body is a
//! struct matching its schema in the `koschei-messages` package.
//!
//! The outbox is also the event log of the event stream: every state change is
//! written, with `publish` = `fedmsg_publisher.enabled` (rows with `publish`
//! false are never sent to the bus). At commit each row gets its `seq`, its
//! position in the stream in commit order, under the transaction-level advisory
//! lock [`SEQ_LOCK`] (migration `20261210000001_event_log.sql`, which also
//! writes the `build.started` / `build.finished` rows from triggers).

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::config::Config;
use crate::model::{CollectionState, MessageState};

/// The body of `<modname>.package.state.change` (schema
/// `koschei_messages.package.PackageStateChange`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageStateChange {
    /// Package name.
    pub name: String,
    pub old: MessageState,
    pub new: MessageState,
    /// `fedmsg.instance` (`primary` unless configured).
    pub koji_instance: String,
    /// The collection's name again (kept by the schema for old consumers).
    pub repo: String,
    /// Collection name (`f42`).
    pub collection: String,
    /// Collection display name (`Fedora 42`).
    pub collection_name: String,
    /// Full names (`namespace/name`) of the package's groups, sorted.
    pub groups: Vec<String>,
}

/// The body of `<modname>.collection.state.change` (schema
/// `koschei_messages.collection.CollectionStateChange`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionStateChange {
    pub old: CollectionState,
    pub new: CollectionState,
    /// `fedmsg.instance`.
    pub koji_instance: String,
    /// Collection name.
    pub collection: String,
    /// Collection display name.
    pub collection_name: String,
    /// The Koji repo the state was resolved against, as a string: the schema
    /// declares a string (the original sent an integer and failed validation).
    pub repo_id: Option<String>,
}

/// Whether a source package's binaries all install (`koschei.package.installability.change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Installable {
    /// Every binary of the source package installs into an empty root.
    Installable,
    /// At least one does not.
    Uninstallable,
}

impl Installable {
    /// `Uninstallable` when any of `binaries_installable` is false.
    pub fn of_all(binaries_installable: impl IntoIterator<Item = bool>) -> Installable {
        if binaries_installable.into_iter().all(|ok| ok) {
            Installable::Installable
        } else {
            Installable::Uninstallable
        }
    }
}

/// One binary package in `koschei.package.installability.change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BinaryInstallability {
    pub name: String,
    pub arch: String,
    /// `[E:]V-R`.
    pub evr: String,
    pub installable: bool,
    /// libsolv's problems; empty when installable.
    pub problems: Vec<String>,
}

/// What changed for one source package, before the routing fields are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallabilityChange {
    /// Source package name (the tracked package).
    pub name: String,
    pub old: Installable,
    pub new: Installable,
    /// The binaries whose installability changed, or those of the rebuild.
    pub binaries: Vec<BinaryInstallability>,
    /// The scratch-build task whose binaries would install, when this says so.
    pub fixed_by_rebuild: Option<i64>,
}

/// The body of `<modname>.package.installability.change`; its JSON schema is
/// `services/watcher/messages/koschei_rs_messages/installability-change.schema.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInstallabilityChange {
    /// Source package name.
    pub name: String,
    pub old: Installable,
    pub new: Installable,
    /// `fedmsg.instance`.
    pub koji_instance: String,
    pub collection: String,
    pub collection_name: String,
    /// The Koji repo checked, as a string (like the collection message).
    pub repo_id: String,
    /// Full names of the package's groups, sorted.
    pub groups: Vec<String>,
    pub binaries: Vec<BinaryInstallability>,
    /// Whether this says that a scratch build's binaries would install.
    pub fixed_by_rebuild: bool,
    /// That scratch build's Koji task.
    pub task_id: Option<i64>,
}

/// Queues `<modname>.package.installability.change` for each change of a tracked
/// package of the collection (names that are no package of it are skipped), in the
/// given order. Returns how many rows were written.
pub async fn installability_changed(
    conn: &mut PgConnection,
    config: &Config,
    collection_id: i32,
    repo_id: i32,
    changes: &[InstallabilityChange],
) -> sqlx::Result<usize> {
    if changes.is_empty() {
        return Ok(0);
    }
    let names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    type Row = (String, String, String, Vec<String>);
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT p.name, c.name, c.display_name, {PACKAGE_GROUPS}
         FROM package p JOIN collection c ON c.id = p.collection_id
         WHERE p.collection_id = $1 AND p.name = ANY($2)"
    ))
    .bind(collection_id)
    .bind(&names)
    .fetch_all(&mut *conn)
    .await?;
    let by_name: std::collections::HashMap<&str, &Row> =
        rows.iter().map(|r| (r.0.as_str(), r)).collect();
    let bodies: Vec<_> = changes
        .iter()
        .filter_map(|change| {
            let (name, collection, collection_name, groups) = by_name.get(change.name.as_str())?;
            Some(sqlx::types::Json(PackageInstallabilityChange {
                name: name.clone(),
                old: change.old,
                new: change.new,
                koji_instance: config.fedmsg.instance.clone(),
                collection: collection.clone(),
                collection_name: collection_name.clone(),
                repo_id: repo_id.to_string(),
                groups: groups.clone(),
                binaries: change.binaries.clone(),
                fixed_by_rebuild: change.fixed_by_rebuild.is_some(),
                task_id: change.fixed_by_rebuild,
            }))
        })
        .collect();
    insert_rows(conn, config, "package.installability.change", &bodies).await
}

/// Inserts message bodies of `<modname>.<topic>` into the outbox in order.
pub(crate) async fn insert_rows<T: Serialize + Sync>(
    conn: &mut PgConnection,
    config: &Config,
    topic: &str,
    bodies: &[sqlx::types::Json<T>],
) -> sqlx::Result<usize> {
    let topic = format!("{}.{topic}", config.fedmsg_publisher.modname);
    insert_rows_as(conn, config, &topic, bodies).await
}

/// Inserts message bodies of the whole topic `topic` into the outbox in order.
pub(crate) async fn insert_rows_as<T: Serialize + Sync>(
    conn: &mut PgConnection,
    config: &Config,
    topic: &str,
    bodies: &[sqlx::types::Json<T>],
) -> sqlx::Result<usize> {
    if bodies.is_empty() {
        return Ok(0);
    }
    sqlx::query(
        "INSERT INTO message_outbox (topic, body, publish)
         SELECT $1, b, $3 FROM unnest($2::jsonb[]) WITH ORDINALITY AS u(b, n) ORDER BY n",
    )
    .bind(topic)
    .bind(bodies)
    .bind(config.fedmsg_publisher.enabled)
    .execute(conn)
    .await?;
    Ok(bodies.len())
}

/// The full names (`namespace/name`) of package `p`'s groups, sorted, as an SQL array.
const PACKAGE_GROUPS: &str = "ARRAY(SELECT CASE WHEN g.namespace IS NULL THEN g.name \
     ELSE g.namespace || '/' || g.name END \
     FROM package_group_relation r JOIN package_group g ON g.id = r.group_id \
     WHERE r.base_id = p.base_id ORDER BY 1)";

/// The advisory lock `(namespace, key)` under which a committing transaction
/// numbers its outbox rows (`pg_advisory_xact_lock(4, 0)` in the schema).
pub const SEQ_LOCK: (i32, i32) = (4, 0);

/// Queues `<modname>.package.state.change` when the message state changed
/// (to be published when `fedmsg_publisher.enabled`). Returns whether a row
/// was written.
pub async fn package_state_changed(
    conn: &mut PgConnection,
    config: &Config,
    package_id: i32,
    old: MessageState,
    new: MessageState,
) -> sqlx::Result<bool> {
    Ok(packages_state_changed(conn, config, &[(package_id, old, new)]).await? > 0)
}

/// [`package_state_changed`] for many packages `(id, old, new)` in two round trips
/// (one read, one insert), in the given order. Returns how many rows were written.
pub async fn packages_state_changed(
    conn: &mut PgConnection,
    config: &Config,
    changes: &[(i32, MessageState, MessageState)],
) -> sqlx::Result<usize> {
    let changed: Vec<&(i32, MessageState, MessageState)> =
        changes.iter().filter(|(_, old, new)| old != new).collect();
    if changed.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i32> = changed.iter().map(|c| c.0).collect();
    type Row = (i32, String, String, String, Vec<String>);
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT p.id, p.name, c.name, c.display_name, {PACKAGE_GROUPS}
         FROM package p JOIN collection c ON c.id = p.collection_id WHERE p.id = ANY($1)"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let by_id: std::collections::HashMap<i32, Row> = rows.into_iter().map(|r| (r.0, r)).collect();
    let mut bodies = Vec::with_capacity(changed.len());
    for &&(id, old, new) in &changed {
        let (_, name, collection, collection_name, groups) =
            by_id.get(&id).ok_or(sqlx::Error::RowNotFound)?;
        let body = PackageStateChange {
            name: name.clone(),
            old,
            new,
            koji_instance: config.fedmsg.instance.clone(),
            repo: collection.clone(),
            collection: collection.clone(),
            collection_name: collection_name.clone(),
            groups: groups.clone(),
        };
        bodies.push(sqlx::types::Json(body));
    }
    insert_rows(conn, config, "package.state.change", &bodies).await
}

/// Queues `<modname>.collection.state.change` when the buildroot state
/// changed (to be published when `fedmsg_publisher.enabled`).
pub async fn collection_state_changed(
    conn: &mut PgConnection,
    config: &Config,
    collection_id: i32,
    old: CollectionState,
    new: CollectionState,
) -> sqlx::Result<bool> {
    if old == new {
        return Ok(false);
    }
    let (collection, collection_name, repo_id): (String, String, Option<i32>) =
        sqlx::query_as("SELECT name, display_name, latest_repo_id FROM collection WHERE id = $1")
            .bind(collection_id)
            .fetch_one(&mut *conn)
            .await?;
    let body = CollectionStateChange {
        old,
        new,
        koji_instance: config.fedmsg.instance.clone(),
        collection,
        collection_name,
        repo_id: repo_id.map(|id| id.to_string()),
    };
    insert_rows(
        conn,
        config,
        "collection.state.change",
        &[sqlx::types::Json(body)],
    )
    .await?;
    Ok(true)
}

/// The message state of a package, from the single SQL definition.
pub async fn package_msg_state(
    conn: &mut PgConnection,
    package_id: i32,
) -> sqlx::Result<MessageState> {
    let s: String =
        sqlx::query_scalar("SELECT package_msg_state(p) FROM package p WHERE p.id = $1")
            .bind(package_id)
            .fetch_one(conn)
            .await?;
    Ok(s.parse().unwrap_or(MessageState::Ignored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn package_body_has_the_schema_fields() {
        let body = PackageStateChange {
            name: "rnv".into(),
            old: MessageState::Ok,
            new: MessageState::Failing,
            koji_instance: "primary".into(),
            repo: "f42".into(),
            collection: "f42".into(),
            collection_name: "Fedora 42".into(),
            groups: vec!["base".into(), "ns/tools".into()],
        };
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value,
            json!({
                "name": "rnv", "old": "ok", "new": "failing", "koji_instance": "primary",
                "repo": "f42", "collection": "f42", "collection_name": "Fedora 42",
                "groups": ["base", "ns/tools"],
            })
        );
        assert_eq!(
            serde_json::from_value::<PackageStateChange>(value).unwrap(),
            body
        );
    }

    #[test]
    fn collection_body_has_the_schema_fields() {
        let mut body = CollectionStateChange {
            old: CollectionState::Unknown,
            new: CollectionState::Ok,
            koji_instance: "primary".into(),
            collection: "f42".into(),
            collection_name: "Fedora 42".into(),
            repo_id: Some("1000".into()),
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "old": "unknown", "new": "ok", "koji_instance": "primary",
                "collection": "f42", "collection_name": "Fedora 42", "repo_id": "1000",
            })
        );
        body.repo_id = None;
        assert_eq!(serde_json::to_value(&body).unwrap()["repo_id"], json!(null));
    }
}
