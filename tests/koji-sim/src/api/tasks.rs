//! The hub calls on tasks: `build` (starting a scratch build's task tree, which
//! [`crate::tasks`] runs), `getTaskInfo`, `getTaskChildren`, `listTasks`,
//! `getTaskResult`, `cancelTask`.

use std::sync::Arc;

use koschei_koji::model::{RepoState, TaskState};
use koschei_koji::xmlrpc::{is_truthy, Fault, FaultKind, Struct, Value};

use super::caller::Caller;
use super::values::{generic, QueryOpts, Res};
use crate::args::Args;
use crate::sim::Sim;
use crate::task::Task;
use crate::tasks::{self, BuildPlan};

pub(super) fn build(sim: &Arc<Sim>, caller: Caller, args: &Args) -> Res {
    let src = args
        .str(0, "src")?
        .ok_or_else(|| Fault::parameter("src required"))?
        .to_owned();
    let target = args.str(1, "target")?.map(str::to_owned);
    let opts = match args.get(2, "opts") {
        Some(Value::Struct(m)) => m.clone(),
        Some(_) => return Err(Fault::parameter("opts must be a struct")),
        None => Struct::new(),
    };
    let priority = args.int(3, "priority")?.unwrap_or(20);
    let mut guard = sim.lock();
    let st = &mut *guard;
    let repo_id = opts.get("repo_id").and_then(Value::as_i64);
    let (build_tag, repo_id) = match (&target, repo_id) {
        (_, Some(r)) => {
            let repo = st
                .repo(r)
                .ok_or_else(|| generic(format!("No such repo: {r}")))?;
            if !matches!(repo.state, RepoState::Ready | RepoState::Expired) {
                return Err(generic(format!("Bad repo: {r} ({})", repo.state.name())));
            }
            (repo.tag_id, r)
        }
        (Some(t), None) => {
            let target = st
                .targets
                .iter()
                .find(|x| &x.name == t)
                .ok_or_else(|| generic(format!("No such build target: {t}")))?;
            let repo = st
                .latest_repo(target.build_tag, RepoState::Ready)
                .ok_or_else(|| generic(format!("No repo for tag {}", target.build_tag)))?;
            (target.build_tag, repo.id)
        }
        (None, None) => return Err(generic("A build target or a repo_id is required")),
    };
    if !opts.get("scratch").is_some_and(is_truthy) {
        return Err(Fault::koji(
            FaultKind::ActionNotAllowed,
            "koji-sim only runs scratch builds",
        ));
    }
    let tag_arches: Vec<String> = st
        .tag(build_tag)
        .and_then(|t| t.arches.clone())
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let headers = tasks::srpm_nvr(&src)
        .and_then(|nvr| st.build_ids.get(nvr))
        .and_then(|id| st.build(*id))
        .map(|b| b.source.build_archs.clone());
    let arches: Vec<String> = if headers
        .as_ref()
        .is_some_and(|b| b.iter().any(|a| a == "noarch"))
    {
        vec!["noarch".to_owned()]
    } else if let Some(over) = opts.get("arch_override").and_then(Value::as_str) {
        over.split_whitespace()
            .filter(|a| {
                tag_arches
                    .iter()
                    .any(|t| koschei_koji::canon_arch(t) == koschei_koji::canon_arch(a))
            })
            .map(str::to_owned)
            .collect()
    } else {
        tag_arches
    };
    let owner = caller.user_id.unwrap_or_else(|| st.add_user("kojiadmin"));
    let request = vec![
        Value::str(&src),
        target.clone().map_or(Value::Nil, Value::String),
        Value::Struct(opts),
    ];
    let spec = tasks::TreeSpec {
        src: &src,
        request,
        owner_id: owner,
        priority,
        build_tag,
        repo_id,
    };
    let task_id = tasks::create_build_tree(st, sim, spec);
    if let Some(m) = tasks::state_change_message(sim, st, task_id, TaskState::Free) {
        sim.publish(m);
    }
    let plan = BuildPlan {
        task_id,
        build_tag,
        repo_id,
        arches,
        src,
    };
    tokio::spawn(tasks::run_build(sim.clone(), plan));
    Ok(Value::Int(task_id))
}

pub(super) fn get_task_info(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let request = args.flag(1, "request", false);
    let strict = args.flag(2, "strict", false);
    let one = |id: i64| -> Res {
        match sim.task(&st, id) {
            Some(t) => Ok(t.info(request)),
            None if strict => Err(generic(format!("No such task: {id}"))),
            None => Ok(Value::Nil),
        }
    };
    match args.req(0, "task_id")? {
        Value::Array(ids) => ids
            .iter()
            .map(|v| one(v.as_i64().unwrap_or(-1)))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        _ => one(args.int(0, "task_id")?.unwrap_or(-1)),
    }
}

/// A `listTasks` time bound: a timestamp or a date string (`YYYY-MM-DD[ HH:MM:SS[.ffffff]]`).
fn time_bound(v: &Value) -> Result<f64, Fault> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Double(d) => Ok(*d),
        Value::String(s) | Value::DateTime(s) => {
            parse_koji_time(s).ok_or_else(|| Fault::parameter(format!("invalid time: {s}")))
        }
        _ => Err(Fault::parameter(
            "a time bound must be a timestamp or a date",
        )),
    }
}

fn parse_koji_time(s: &str) -> Option<f64> {
    use chrono::NaiveDateTime;
    let s = s.trim();
    let parsed = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y%m%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    Some(parsed.and_utc().timestamp_micros() as f64 / 1e6)
}

/// `listTasks(opts, queryOpts)`: tasks filtered by `method`, `owner`, `parent` (nil =
/// top-level only), `state`, `not_state`, `createdAfter`/`createdBefore`; `decode`
/// returns each request as arguments instead of Koji's XML-RPC text; `queryOpts`
/// knows `order` (`id`/`-id`), `offset`, `limit` and `countOnly`.
pub(super) fn list_tasks(sim: &Arc<Sim>, args: &Args) -> Res {
    let empty = Struct::new();
    let opts = match args.get(0, "opts") {
        Some(Value::Struct(m)) => m,
        None | Some(Value::Nil) => &empty,
        Some(_) => return Err(Fault::parameter("opts must be a struct")),
    };
    let query = QueryOpts::from_arg(args.get(1, "queryOpts"))?;
    let ints = |key: &str| -> Option<Vec<i64>> {
        opts.get(key).map(|v| match v {
            Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
            other => other.as_i64().into_iter().collect(),
        })
    };
    let owners = ints("owner");
    let states = ints("state");
    let not_states = ints("not_state");
    let method = opts.get("method").and_then(Value::as_str);
    let parent = opts.get("parent").map(Value::as_i64);
    let after = opts.get("createdAfter").map(time_bound).transpose()?;
    let before = opts.get("createdBefore").map(time_bound).transpose()?;
    let decode = opts.get("decode").is_some_and(is_truthy);
    let st = sim.lock();
    let mut tasks: Vec<&Task> = st
        .tasks
        .values()
        .filter(|t| method.is_none_or(|m| t.method == m))
        .filter(|t| owners.as_ref().is_none_or(|o| o.contains(&t.owner_id)))
        .filter(|t| parent.is_none_or(|p| t.parent == p))
        .filter(|t| {
            states
                .as_ref()
                .is_none_or(|s| s.contains(&i64::from(t.state)))
        })
        .filter(|t| {
            not_states
                .as_ref()
                .is_none_or(|s| !s.contains(&i64::from(t.state)))
        })
        .filter(|t| after.is_none_or(|a| t.create_ts > a))
        .filter(|t| before.is_none_or(|b| t.create_ts < b))
        .collect();
    if query.count_only {
        return Ok(Value::Int(tasks.len() as i64));
    }
    if query.order() == Some(("id", true)) {
        tasks.reverse();
    }
    Ok(Value::Array(
        query
            .page(tasks)
            .map(|t| {
                let mut info = t.info(decode);
                if let Value::Struct(m) = &mut info {
                    m.insert("owner_name".into(), Value::str(st.user_name(t.owner_id)));
                    if !decode {
                        let text = koschei_koji::xmlrpc::write_call(&t.method, &t.request);
                        m.insert("request".into(), Value::String(text));
                    }
                }
                info
            })
            .collect(),
    ))
}

pub(super) fn get_task_result(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let id = args
        .int(0, "taskId")?
        .ok_or_else(|| Fault::parameter("taskId required"))?;
    let task = sim
        .task(&st, id)
        .ok_or_else(|| generic(format!("No such task: {id}")))?;
    match task.state {
        TaskState::Closed | TaskState::Failed => task.result.unwrap_or(Ok(Value::Nil)),
        TaskState::Canceled => Err(generic(format!("Task {id} is canceled"))),
        other => Err(generic(format!(
            "Task {id} is currently {}",
            other.name().to_lowercase()
        ))),
    }
}

pub(super) fn cancel_task(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let id = args
        .int(0, "task_id")?
        .ok_or_else(|| Fault::parameter("task_id required"))?;
    if sim.task(&st, id).is_none() {
        return Err(generic(format!("No such task: {id}")));
    }
    for (changed, old) in tasks::cancel(&mut st, id) {
        if let Some(m) = tasks::state_change_message(sim, &st, changed, old) {
            sim.publish(m);
        }
    }
    Ok(Value::Nil)
}

/// `getTaskChildren(task_id, request)`: the child tasks' info (none for an unknown task).
pub(super) fn get_task_children(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let id = args
        .int(0, "task_id")?
        .ok_or_else(|| Fault::parameter("task_id required"))?;
    let request = args.flag(1, "request", false);
    let children = sim.task(&st, id).map(|t| t.children).unwrap_or_default();
    Ok(Value::Array(
        children
            .iter()
            .filter_map(|c| sim.task(&st, *c))
            .map(|t| t.info(request))
            .collect(),
    ))
}

/// `listTaskOutput(taskID, stat=False, all_volumes=False, strict=False)`: the names of a
/// finished task's files (the rpms it produced, its logs). Only the plain listing is
/// simulated, not `stat` or `all_volumes`.
pub(super) fn list_task_output(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let id = args
        .int(0, "taskID")?
        .ok_or_else(|| Fault::parameter("taskID required"))?;
    if args.flag(1, "stat", false) || args.flag(2, "all_volumes", false) {
        return Err(Fault::parameter(
            "koji-sim simulates listTaskOutput without stat and all_volumes only",
        ));
    }
    match sim.task(&st, id) {
        Some(t) if t.state.is_finished() => Ok(Value::Array(
            t.output_files().into_iter().map(Value::String).collect(),
        )),
        Some(_) => Ok(Value::Array(Vec::new())),
        None if args.flag(3, "strict", false) => Err(generic(format!("No such task: {id}"))),
        None => Ok(Value::Array(Vec::new())),
    }
}
