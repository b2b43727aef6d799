//! Repos of tags: `getRepo`, `repoInfo` and `newRepo` (regenerating a tag's repo).

use std::sync::Arc;

use koschei_koji::model::{RepoState, TaskState};
use koschei_koji::xmlrpc::{Fault, Value};
use koschei_koji::xstruct;

use super::caller::Caller;
use super::tags::{tag_arg, tag_id_arg};
use super::values::{generic, Res};
use crate::args::Args;
use crate::sim::Sim;
use crate::state::{Repo, State};
use crate::task::Task;
use crate::time::koji_time;

fn repo_info(st: &State, r: &Repo) -> Value {
    let tag = st.tag(r.tag_id);
    Value::Struct(xstruct! {
        "id" => r.id,
        "state" => i64::from(r.state),
        "create_event" => r.create_event,
        "create_ts" => r.create_ts,
        "creation_time" => koji_time(r.create_ts),
        "tag_id" => r.tag_id,
        "tag_name" => tag.map(|t| t.name.clone()),
        "dist" => false,
        "task_id" => r.task_id,
    })
}

/// `getRepo(tag, state=READY, event=None)`: the tag's newest repo in that state (created
/// by `event`), or nil; also for a deleted tag, as Koji looks its id up.
pub(super) fn get_repo(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let tag_id = tag_id_arg(&st, args, 0, "tag")?;
    let state = match args.int(1, "state")? {
        Some(s) => RepoState::try_from(s).map_err(Fault::parameter)?,
        None => RepoState::Ready,
    };
    let event = args.int(2, "event")?;
    let repo = st.repos.iter().rev().find(|r| {
        r.tag_id == tag_id && r.state == state && event.is_none_or(|e| r.create_event <= e)
    });
    Ok(repo.map_or(Value::Nil, |r| repo_info(&st, r)))
}

pub(super) fn new_repo(sim: &Arc<Sim>, caller: Caller, args: &Args) -> Res {
    let mut guard = sim.lock();
    let st = &mut *guard;
    let tag_id = tag_arg(st, args, 0, "tag")?.id;
    let task_id = st.new_task_id();
    let job = sim
        .plan_repo(st, tag_id, Some(task_id))
        .map_err(|e| generic(e.to_string()))?;
    let repo_id = job.repo_id;
    let event = st.repo(repo_id).map_or(0, |r| r.create_event);
    let tag_name = st.tag(tag_id).map(|t| t.name.clone()).unwrap_or_default();
    let mut task = Task::open(
        task_id,
        "newRepo",
        None,
        "noarch",
        vec![Value::String(tag_name)],
    );
    task.owner_id = caller.user_id.unwrap_or(1);
    let child_id = st.new_task_id();
    let mut child = Task::open(
        child_id,
        "createrepo",
        Some(task_id),
        "x86_64",
        vec![Value::Int(repo_id), Value::str("x86_64"), Value::Nil],
    );
    child.owner_id = task.owner_id;
    task.children.push(child_id);
    st.tasks.insert(task_id, task);
    st.tasks.insert(child_id, child);
    let sim = sim.clone();
    tokio::spawn(async move {
        let outcome = sim.write_repo(job).await;
        let mut st = sim.lock();
        let (state, result) = match outcome {
            Ok(id) => (
                TaskState::Closed,
                Ok(Value::Array(vec![Value::Int(id), Value::Int(event)])),
            ),
            Err(e) => (TaskState::Failed, Err(generic(e.to_string()))),
        };
        for id in [child_id, task_id] {
            if let Some(t) = st.tasks.get_mut(&id) {
                t.finish(state, result.clone());
            }
        }
    });
    Ok(Value::Int(task_id))
}

/// `repoInfo(repo_id)`: the repo's info, or nil.
pub(super) fn repo_info_call(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let id = args
        .int(0, "repo_id")?
        .ok_or_else(|| Fault::parameter("repo_id required"))?;
    Ok(st.repo(id).map_or(Value::Nil, |r| repo_info(&st, r)))
}
