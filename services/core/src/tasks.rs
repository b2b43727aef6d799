//! Koji task trees of builds (`sync_tasks` of `koschei/backend/__init__.py`): timestamps, the
//! repo id the build used, per-arch subtasks, and how the tree failed.

use chrono::NaiveDateTime;
use koschei_koji::client::KojiClient;
use koschei_koji::error::KojiResult;
use koschei_koji::model::{TaskInfo, TaskState};
use sqlx::PgConnection;

/// One `buildArch` subtask (a `koji_task` row).
#[derive(Debug, Clone, PartialEq)]
pub struct ArchTask {
    pub task_id: i32,
    pub arch: String,
    pub state: TaskState,
    pub started: NaiveDateTime,
    pub finished: Option<NaiveDateTime>,
}

/// What Koji says about one build task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskTree {
    pub state: TaskState,
    pub started: Option<NaiveDateTime>,
    pub finished: Option<NaiveDateTime>,
    /// The repo the build ran in (from a `buildArch` or `rebuildSRPM` request).
    pub repo_id: Option<i32>,
    pub arch_tasks: Vec<ArchTask>,
    /// A `rebuildSRPM` subtask failed.
    pub srpm_failed: bool,
}

impl TaskTree {
    /// The build failed before any architecture build started: its SRPM
    /// could not be rebuilt (an infrastructure failure, koschei#310, koschei#347).
    pub fn failed_before_build(&self) -> bool {
        self.srpm_failed && self.arch_tasks.is_empty()
    }
}

/// Seconds since the epoch (Koji's `*_ts`) as a UTC timestamp.
pub fn from_koji_ts(ts: Option<f64>) -> Option<NaiveDateTime> {
    let ts = ts?;
    let secs = ts.floor();
    chrono::DateTime::from_timestamp(secs as i64, ((ts - secs) * 1e9) as u32).map(|d| d.naive_utc())
}

fn tree(info: TaskInfo, children: Vec<TaskInfo>) -> TaskTree {
    let repo_id = children
        .iter()
        .filter_map(TaskInfo::request_repo_id)
        .find_map(|id| i32::try_from(id).ok());
    let srpm_failed = children
        .iter()
        .any(|c| c.method == "rebuildSRPM" && c.state == TaskState::Failed);
    let mut arch_tasks: Vec<ArchTask> = children
        .into_iter()
        .filter(|c| c.method == "buildArch")
        .filter_map(|c| {
            Some(ArchTask {
                task_id: i32::try_from(c.id).ok()?,
                arch: c.arch,
                state: c.state,
                started: from_koji_ts(c.create_ts)?,
                finished: from_koji_ts(c.completion_ts),
            })
        })
        .collect();
    arch_tasks.sort_by(|a, b| a.arch.cmp(&b.arch).then(a.task_id.cmp(&b.task_id)));
    TaskTree {
        state: info.state,
        started: from_koji_ts(info.create_ts),
        finished: from_koji_ts(info.completion_ts),
        repo_id,
        arch_tasks,
        srpm_failed,
    }
}

/// Fetches the task trees of several builds with two multicalls; `None`
/// for tasks Koji does not know or could not answer for.
pub async fn fetch_task_trees(
    koji: &KojiClient,
    task_ids: &[i64],
) -> KojiResult<Vec<Option<TaskTree>>> {
    if task_ids.is_empty() {
        return Ok(Vec::new());
    }
    let infos = koji.get_task_infos(task_ids).await?;
    let children = koji.get_tasks_children(task_ids).await?;
    Ok(infos
        .into_iter()
        .zip(children)
        .map(|(info, children)| match (info, children) {
            (Ok(Some(info)), Ok(children)) => Some(tree(info, children)),
            _ => None,
        })
        .collect())
}

/// Translates a primary repo id to the secondary one for scratch builds of
/// secondary-mode collections (`repo_mapping`); unmapped ids give `None`.
pub async fn secondary_repo_id(
    conn: &mut PgConnection,
    primary_id: i32,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar("SELECT secondary_id FROM repo_mapping WHERE primary_id = $1")
        .bind(primary_id)
        .fetch_optional(conn)
        .await
}

/// Inserts the build's arch tasks, updating the ones already stored.
pub async fn store_arch_tasks(
    conn: &mut PgConnection,
    build_id: i32,
    tasks: &[ArchTask],
) -> sqlx::Result<()> {
    for t in tasks {
        sqlx::query(
            "WITH updated AS (
                 UPDATE koji_task SET state = $3, started = $4, finished = $5, arch = $6
                 WHERE build_id = $1 AND task_id = $2 RETURNING 1)
             INSERT INTO koji_task (build_id, task_id, state, started, finished, arch)
             SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM updated)",
        )
        .bind(build_id)
        .bind(t.task_id)
        .bind(i64::from(t.state) as i32)
        .bind(t.started)
        .bind(t.finished)
        .bind(&t.arch)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
