//! Messages about impact checks, queued in the outbox with the change they announce:
//!
//! * `<modname>.impact-check.state.change` at every state a check enters (schema
//!   `koschei.impact-check.state.change` in `services/watcher/messages`);
//! * for side tags, Fedora CI's `ci.<namespace>.koji-build-group.test.<event>` (the
//!   original's OSCI plugin, `koschei/plugins/osci_plugin/backend.py`): `queued` once the
//!   side tag's repo and builds are known, `running` while its packages are built,
//!   `complete` (`passed`, or `failed` with a regression or a package unresolvable with
//!   the change), `error` when the check fails. Like the original, nothing is sent for
//!   a side tag without builds.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::PgConnection;

use crate::config::Config;
use crate::outbox::{insert_rows, insert_rows_as};

/// The version of the Fedora CI message specification the messages follow.
pub const CI_SPEC_VERSION: &str = "0.2.5";

/// The body of `<modname>.impact-check.state.change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactCheckStateChange {
    pub id: i32,
    pub collection: String,
    pub collection_name: String,
    /// The Koji side tag checked, or `None` for a repository.
    pub side_tag: Option<String>,
    /// The extra rpm-md repository checked, or `None` for a side tag.
    pub repo_url: Option<String>,
    /// The state before (`None` for a new check).
    pub old: Option<String>,
    pub new: String,
    /// Why it failed, what it waits for, or a summary.
    pub note: Option<String>,
    pub base_repo_id: Option<i32>,
    pub change_repo_id: Option<i32>,
    pub requested_by: String,
    /// `fedmsg.instance`.
    pub koji_instance: String,
    /// Packages whose resolution differs.
    pub affected: i64,
    /// Packages that resolve against the collection's repo but not with the change.
    pub unresolvable_with_change: Vec<String>,
    /// Packages whose build fails with the change and passes without it.
    pub regressions: Vec<String>,
}

/// Queues the messages of check `id` entering `state` (called with its history row).
pub async fn state_changed(
    conn: &mut PgConnection,
    config: &Config,
    id: i32,
    old: Option<&str>,
    state: &str,
    note: Option<&str>,
) -> sqlx::Result<()> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i32>,
        Option<i32>,
        String,
        i64,
        Vec<String>,
        Vec<String>,
    );
    let row: Row = sqlx::query_as(
        "SELECT c.name, c.display_name, i.side_tag, i.repo_url, i.base_repo_id, i.change_repo_id,
                i.requested_by,
                (SELECT count(*) FROM impact_check_package WHERE check_id = i.id),
                ARRAY(SELECT p.name FROM impact_check_package ip
                      JOIN package p ON p.id = ip.package_id
                      WHERE ip.check_id = i.id AND ip.verdict = 'unresolvable-with-change'
                      ORDER BY p.name),
                ARRAY(SELECT p.name FROM impact_check_package ip
                      JOIN package p ON p.id = ip.package_id
                      WHERE ip.check_id = i.id AND ip.build_verdict = 'regression'
                      ORDER BY p.name)
         FROM impact_check i JOIN collection c ON c.id = i.collection_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let (collection, collection_name, side_tag, repo_url, base_repo_id, change_repo_id) =
        (row.0, row.1, row.2, row.3, row.4, row.5);
    let failed = !row.8.is_empty() || !row.9.is_empty();
    let body = ImpactCheckStateChange {
        id,
        collection,
        collection_name,
        side_tag,
        repo_url,
        old: old.map(str::to_string),
        new: state.to_string(),
        note: note.map(str::to_string),
        base_repo_id,
        change_repo_id,
        requested_by: row.6,
        koji_instance: config.fedmsg.instance.clone(),
        affected: row.7,
        unresolvable_with_change: row.8,
        regressions: row.9,
    };
    insert_rows(
        conn,
        config,
        "impact-check.state.change",
        &[sqlx::types::Json(body)],
    )
    .await?;
    let ci_event = match state {
        crate::impact_state::BUILDING => Some(CiEvent::Running),
        crate::impact_state::COMPLETE => Some(CiEvent::Complete { failed }),
        crate::impact_state::ERROR => Some(CiEvent::Error(note.unwrap_or("").to_string())),
        _ => None,
    };
    if let Some(event) = ci_event {
        ci_message(conn, config, id, &event).await?;
    }
    Ok(())
}

/// A Fedora CI test event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiEvent {
    Queued,
    Running,
    Complete { failed: bool },
    Error(String),
}

impl CiEvent {
    fn topic_suffix(&self) -> &'static str {
        match self {
            CiEvent::Queued => "queued",
            CiEvent::Running => "running",
            CiEvent::Complete { .. } => "complete",
            CiEvent::Error(_) => "error",
        }
    }
}

/// The `koji-build-group` artifact of a side tag's repo: its own builds (not inherited)
/// at the repo's event, identified by the SHA-256 of their sorted ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildGroupArtifact {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub builds: Vec<GroupBuild>,
    pub repository: String,
}

/// One build of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupBuild {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: i64,
    pub issuer: String,
    pub component: String,
    pub nvr: String,
    pub scratch: bool,
}

impl BuildGroupArtifact {
    /// The artifact of `builds` (`(id, owner, package, nvr)`) in the repo at `repository`.
    pub fn new(builds: Vec<(i64, String, String, String)>, repository: String) -> Self {
        use sha2::Digest;
        let mut ids: Vec<String> = builds.iter().map(|b| b.0.to_string()).collect();
        ids.sort();
        let digest = sha2::Sha256::digest(ids.concat().as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        BuildGroupArtifact {
            kind: "koji-build-group".into(),
            id: format!("sha256:{hex}"),
            builds: builds
                .into_iter()
                .map(|(id, issuer, component, nvr)| GroupBuild {
                    kind: "koji-build".into(),
                    id,
                    issuer,
                    component,
                    nvr,
                    scratch: false,
                })
                .collect(),
            repository,
        }
    }
}

/// Stores the artifact of a check's side tag and queues its `queued` message, unless
/// the check has it already.
pub async fn artifact_known(
    conn: &mut PgConnection,
    config: &Config,
    id: i32,
    artifact: &BuildGroupArtifact,
) -> sqlx::Result<()> {
    let stored = sqlx::query(
        "UPDATE impact_check SET artifact = $2
         WHERE id = $1 AND artifact IS DISTINCT FROM $2",
    )
    .bind(id)
    .bind(sqlx::types::Json(artifact))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if stored == 1 {
        ci_message(conn, config, id, &CiEvent::Queued).await?;
    }
    Ok(())
}

/// Queues `ci.<namespace>.koji-build-group.test.<event>` for a check whose artifact has
/// builds (when `impact.osci.enabled`).
async fn ci_message(
    conn: &mut PgConnection,
    config: &Config,
    id: i32,
    event: &CiEvent,
) -> sqlx::Result<()> {
    let osci = &config.impact.osci;
    if !osci.enabled {
        return Ok(());
    }
    let artifact: Option<sqlx::types::Json<BuildGroupArtifact>> =
        sqlx::query_scalar("SELECT artifact FROM impact_check WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    let Some(sqlx::types::Json(artifact)) = artifact else {
        return Ok(());
    };
    if artifact.builds.is_empty() {
        return Ok(());
    }
    let url = check_url(config, id);
    let mut test = json!({
        "type": osci.test_type,
        "category": osci.test_category,
        "namespace": osci.namespace,
    });
    let mut body = json!({
        "version": CI_SPEC_VERSION,
        "generated_at": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "contact": osci.contact,
        "pipeline": osci.pipeline,
        "run": {"url": url, "log": url},
        "artifact": artifact,
    });
    match event {
        CiEvent::Complete { failed } => {
            test["result"] = Value::from(if *failed { "failed" } else { "passed" });
            body["system"] = json!([]);
        }
        CiEvent::Error(reason) => body["error"] = json!({ "reason": reason }),
        CiEvent::Queued | CiEvent::Running => {}
    }
    body["test"] = test;
    let topic = format!(
        "ci.{}.koji-build-group.test.{}",
        osci.namespace,
        event.topic_suffix()
    );
    insert_rows_as(conn, config, &topic, &[sqlx::types::Json(body)]).await?;
    Ok(())
}

/// The web page of a check, under `frontend.external_url` (Fedora's site when unset: the
/// messages need an absolute URL).
fn check_url(config: &Config, id: i32) -> String {
    let base = config
        .frontend
        .external_url
        .as_deref()
        .unwrap_or("https://koschei.fedoraproject.org")
        .trim_end_matches('/');
    format!("{base}/impact-checks/{id}")
}
