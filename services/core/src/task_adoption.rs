//! Adopting scratch builds Koji accepted but the database never recorded.
//!
//! Submitting is a Koji call followed by a database commit. If the scheduler dies
//! between the two, or the `build` call fails on the way back after Koji created the
//! task, Koji runs a build nobody tracks: its result would be lost and the package
//! could be submitted twice. [`adopt_unrecorded_builds`] closes that gap: it lists the
//! top-level `build` tasks our Koji user created recently (`listTasks`), and records
//! every one without a `build` row as a running build of the package it was submitted
//! for, so the poller and the watcher finish it like any other. The scheduler runs it
//! before its first decision, after a failed one, and hourly.

use chrono::DateTime;
use serde_json::Value as Json;
use sqlx::PgConnection;

use crate::koji_sessions::KojiSessions;
use crate::model::BuildState;
use koschei_koji::model::TaskInfo;

/// What [`adopt_unrecorded_builds`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// Tasks Koji listed.
    pub listed: usize,
    /// `(task id, build id)` of the builds recorded now.
    pub adopted: Vec<(i64, i32)>,
    /// Unrecorded tasks that match no tracked package (logged, left alone).
    pub unmatched: Vec<i64>,
}

/// The submit reason recorded on adopted builds.
pub const ADOPTED_REASON: &str =
    "Recorded from Koji's task list: Koji accepted this build but the scheduler could not \
     record it (it stopped, or Koji's reply was lost), so its priority at submission is unknown.";

/// Lists our recent top-level `build` tasks in Koji and records those the database
/// does not know. Call it while holding the scheduler lock, so no submission runs
/// concurrently. Looks back one day, or to an hour before the newest recorded
/// scratch build when that is earlier.
pub async fn adopt_unrecorded_builds(
    conn: &mut PgConnection,
    sessions: &KojiSessions,
) -> anyhow::Result<Adoption> {
    let Some(user) = sessions.primary.logged_in_user_id().await? else {
        return Ok(Adoption::default()); // anonymous sessions submit nothing
    };
    let since: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM least((now() AT TIME ZONE 'UTC') - interval '1 day',
                                         max(started) - interval '1 hour'))::float8
         FROM build WHERE NOT real",
    )
    .fetch_one(&mut *conn)
    .await?;
    let tasks = sessions
        .primary
        .list_top_tasks("build", user, since)
        .await?;
    let ids: Vec<i32> = tasks
        .iter()
        .filter_map(|t| i32::try_from(t.id).ok())
        .collect();
    // impact checks' builds are theirs, not builds of the package
    let known: std::collections::HashSet<i32> = sqlx::query_scalar::<_, i32>(
        "SELECT task_id FROM build WHERE task_id = ANY($1)
         UNION SELECT task_id::integer FROM impact_build WHERE task_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let mut result = Adoption {
        listed: tasks.len(),
        ..Adoption::default()
    };
    for task in tasks
        .iter()
        .filter(|t| i32::try_from(t.id).map_or(true, |id| !known.contains(&id)))
    {
        match adopt(conn, sessions, task).await? {
            Some(build_id) => {
                tracing::warn!(
                    task_id = task.id,
                    build_id,
                    "adopted a scratch build Koji runs but the database did not record"
                );
                result.adopted.push((task.id, build_id));
            }
            None => {
                tracing::warn!(
                    task_id = task.id,
                    "an unrecorded Koji build task matches no tracked package; left alone"
                );
                result.unmatched.push(task.id);
            }
        }
    }
    Ok(result)
}

/// What a scratch `build` task was asked to build.
#[derive(Debug, PartialEq)]
struct ScratchRequest {
    name: String,
    version: String,
    release: String,
    target: Option<String>,
    repo_id: Option<i64>,
}

/// The request of a `build` task; `None` when it is not a scratch build of an SRPM.
fn scratch_request(task: &TaskInfo) -> Option<ScratchRequest> {
    let request = task.request.as_ref()?;
    let src = request.first()?.as_str()?;
    let target = request.get(1).and_then(Json::as_str).map(str::to_owned);
    let opts = request.get(2);
    let scratch = opts
        .and_then(|o| o.get("scratch"))
        .is_some_and(|s| s.as_bool() == Some(true) || s.as_i64().is_some_and(|i| i != 0));
    if !scratch {
        return None;
    }
    let repo_id = opts.and_then(|o| o.get("repo_id")).and_then(Json::as_i64);
    let file = src.rsplit('/').next()?.strip_suffix(".src.rpm")?;
    let mut parts = file.rsplitn(3, '-');
    let (release, version, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(ScratchRequest {
        name: name.into(),
        version: version.into(),
        release: release.into(),
        target,
        repo_id,
    })
}

/// Records one task as a running build; `None` when no single package matches it.
async fn adopt(
    conn: &mut PgConnection,
    sessions: &KojiSessions,
    task: &TaskInfo,
) -> anyhow::Result<Option<i32>> {
    // build.task_id is an integer column: a task id beyond it cannot be recorded
    let Ok(task_id) = i32::try_from(task.id) else {
        return Ok(None);
    };
    let Some(ScratchRequest {
        name,
        version,
        release,
        target,
        repo_id,
    }) = scratch_request(task)
    else {
        return Ok(None);
    };
    // the collection: by target, or by the build tag of the repo the build used
    let (column, value) = match (target, repo_id) {
        (Some(t), _) => ("target", t),
        (None, Some(r)) => match sessions
            .primary
            .repo_info(r)
            .await?
            .and_then(|i| i.tag_name)
        {
            Some(tag) => ("build_tag", tag),
            None => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    let packages: Vec<i32> = sqlx::query_scalar(&format!(
        "SELECT p.id FROM package p JOIN collection c ON c.id = p.collection_id
         WHERE p.name = $1 AND c.{column} = $2"
    ))
    .bind(&name)
    .bind(&value)
    .fetch_all(&mut *conn)
    .await?;
    let [package_id] = packages[..] else {
        return Ok(None);
    };
    let started = task
        .create_ts
        .and_then(|ts| DateTime::from_timestamp_micros((ts * 1e6) as i64))
        .unwrap_or_else(chrono::Utc::now)
        .naive_utc();
    let build_id = sqlx::query_scalar(
        "INSERT INTO build (package_id, state, task_id, started, epoch, version, release,
                            repo_id, submit_reason)
         SELECT $1, $8, $2, $3, lcb.epoch, $4, $5, $6, to_jsonb($7::text)
         FROM package p LEFT JOIN build lcb ON lcb.id = p.last_complete_build_id
              AND lcb.version = $4 AND lcb.release = $5
         WHERE p.id = $1
         RETURNING id",
    )
    .bind(package_id)
    .bind(task_id)
    .bind(started)
    .bind(&version)
    .bind(&release)
    .bind(repo_id.map(i32::try_from).transpose()?)
    .bind(ADOPTED_REASON)
    .bind(BuildState::Running)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(build_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(request: Json) -> TaskInfo {
        serde_json::from_value(serde_json::json!({
            "id": 7, "method": "build", "state": 1, "request": request
        }))
        .unwrap()
    }

    #[test]
    fn reads_the_scratch_request() {
        let t = task(serde_json::json!([
            "cli-build/packages/foo-app/1.0/3.fc99/src/foo-app-1.0-3.fc99.src.rpm",
            null,
            {"scratch": true, "repo_id": 1004}
        ]));
        assert_eq!(
            scratch_request(&t),
            Some(ScratchRequest {
                name: "foo-app".into(),
                version: "1.0".into(),
                release: "3.fc99".into(),
                target: None,
                repo_id: Some(1004),
            })
        );
        let t = task(serde_json::json!(["x/py-tool-2-1.src.rpm", "f99", {"scratch": true}]));
        assert_eq!(
            scratch_request(&t),
            Some(ScratchRequest {
                name: "py-tool".into(),
                version: "2".into(),
                release: "1".into(),
                target: Some("f99".into()),
                repo_id: None,
            })
        );
        // real builds and other sources are not ours to adopt
        let t = task(serde_json::json!(["x/foo-1-1.src.rpm", "f99", {}]));
        assert_eq!(scratch_request(&t), None);
        let t = task(serde_json::json!(["git+https://src/foo#abc", "f99", {"scratch": true}]));
        assert_eq!(scratch_request(&t), None);
    }
}
