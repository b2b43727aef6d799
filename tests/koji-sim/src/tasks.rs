//! The scratch-build task tree (`build` → `rebuildSRPM` → per-arch `buildArch`) that
//! runs on a timer, and the messages of its state changes; the task record itself is
//! [`crate::task::Task`].

use std::sync::Arc;
use std::time::Duration;

use koschei_koji::build_requires::dep_to_string;
use koschei_koji::model::{RpmDep, TaskState};
use koschei_koji::xmlrpc::{Fault, FaultKind, Struct, Value};
use koschei_koji::xstruct;
use tracing::{info, warn};

use crate::messaging::Message;
use crate::new_binary::NewBinary;
use crate::rebuild::rebuilt_binaries;
use crate::sim::Sim;
use crate::state::State;
use crate::task::Task;

/// The name of the SRPM file a build request refers to (last path component).
pub fn srpm_basename(src: &str) -> &str {
    src.rsplit('/').next().unwrap_or(src)
}

/// NVR of an SRPM file name (`n-v-r.src.rpm` → `n-v-r`).
pub fn srpm_nvr(src: &str) -> Option<&str> {
    srpm_basename(src).strip_suffix(".src.rpm")
}

/// What the `build` call decided before the tree runs.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    /// The parent task.
    pub task_id: i64,
    /// Build tag id.
    pub build_tag: i64,
    /// Repo id the build uses.
    pub repo_id: i64,
    /// Arches for buildArch tasks.
    pub arches: Vec<String>,
    /// The source path as given.
    pub src: String,
}

/// Publishes a task state change of a scratch-build parent.
pub fn state_change_message(
    sim: &Sim,
    state: &State,
    task_id: i64,
    old: TaskState,
) -> Option<Message> {
    let task = state.tasks.get(&task_id)?;
    let src = task.request.first().and_then(Value::as_str).unwrap_or("");
    let scratch = task
        .request
        .get(2)
        .and_then(|o| o.get("scratch"))
        .is_some_and(koschei_koji::xmlrpc::is_truthy);
    if task.parent.is_some() || task.method != "build" || !scratch {
        return None;
    }
    let info = message_info(sim, state, task);
    Some(Message::task_state_change(
        task,
        &sim.options.weburl,
        &format!("{}/{}", sim.options.topurl, Task::work_dir(task.id)),
        state.user_name(task.owner_id),
        srpm_basename(src),
        old,
        info,
    ))
}

/// Task info as koji-fedoramessaging sends it: numeric times, url, result, children.
fn message_info(sim: &Sim, state: &State, task: &Task) -> serde_json::Value {
    let mut info = task.info(true).into_json();
    if let Some(obj) = info.as_object_mut() {
        obj.insert("create_time".into(), task.create_ts.into());
        obj.insert("start_time".into(), task.start_ts.into());
        obj.insert("completion_time".into(), task.completion_ts.into());
        obj.insert(
            "url".into(),
            format!("{}/taskinfo?taskID={}", sim.options.weburl, task.id).into(),
        );
        let result = match &task.result {
            Some(Ok(v)) if matches!(v, Value::Struct(_) | Value::Nil) => v.clone().into_json(),
            _ => serde_json::Value::Null,
        };
        obj.insert("result".into(), result);
        let host_name = task
            .host_id
            .and_then(|h| state.hosts.iter().find(|x| x.id == h))
            .map(|h| h.name.clone());
        obj.insert("host_name".into(), host_name.into());
        let children: Vec<serde_json::Value> = task
            .children
            .iter()
            .filter_map(|c| state.tasks.get(c))
            .map(|c| message_info(sim, state, c))
            .collect();
        obj.insert("children".into(), children.into());
    }
    info
}

fn fail_srpm_infra(task_id: i64) -> Fault {
    Fault::new(
        1,
        format!(
            "Traceback (most recent call last):\n  File \"/usr/lib/python3/site-packages/koji/daemon.py\", line 1244, in runTask\n    response = (handler.run(),)\nkoji.GenericError: simulated infrastructure failure in task {task_id}"
        ),
    )
}

fn build_error(arch: &str, status: i32, log: &str) -> Fault {
    Fault::koji(
        FaultKind::BuildError,
        format!("error building package (arch {arch}), mock exited with status {status}; see {log} for more information"),
    )
}

/// Runs a scratch build's task tree: rebuildSRPM, then buildArch per arch, each phase
/// taking part of the build time; the outcome is decided by dependency resolution in
/// the build's repo, plus the configured random and infrastructure failure rates.
pub async fn run_build(sim: Arc<Sim>, plan: BuildPlan) {
    let build_time = sim.state.lock().map(|s| s.build_time).unwrap_or(0.0);
    tokio::time::sleep(Duration::from_secs_f64(build_time * 0.2)).await;

    // Phase 1: the SRPM.
    let (children, srpm_nvr) = {
        let mut guard = sim.lock();
        let st = &mut *guard;
        if st
            .tasks
            .get(&plan.task_id)
            .is_none_or(|t| t.state != TaskState::Open)
        {
            return;
        }
        let srpm_task = st.tasks[&plan.task_id].children[0];
        let infra = sim.roll(st.infra_failure_rate);
        let nvr = srpm_nvr(&plan.src).map(str::to_owned);
        let known = nvr.as_ref().is_some_and(|n| st.build_ids.contains_key(n));
        let outcome = if infra {
            Err(fail_srpm_infra(srpm_task))
        } else if !known {
            Err(Fault::koji(
                FaultKind::BuildError,
                "error building srpm, mock exited with status 1; see root.log for more information",
            ))
        } else {
            Ok(())
        };
        let srpm_name = srpm_basename(&plan.src).to_owned();
        if let Err(fault) = outcome {
            let log = format!("simulated rebuildSRPM of {}\n{}\n", plan.src, fault.message);
            sim.write_logs(srpm_task, &log, &log);
            if let Some(t) = st.tasks.get_mut(&srpm_task) {
                t.finish(TaskState::Failed, Err(fault.clone()));
            }
            finish_parent(&sim, st, plan.task_id, TaskState::Failed, Err(fault));
            return;
        }
        let srpm_path = format!("{}/{}", Task::work_dir(srpm_task), srpm_name);
        let result = Value::Struct(xstruct! {
            "srpm" => srpm_path.as_str(),
            "logs" => vec![format!("{}/build.log", Task::work_dir(srpm_task)), format!("{}/root.log", Task::work_dir(srpm_task))],
            "brootid" => srpm_task,
            "source" => Value::Struct(xstruct! {"source" => plan.src.as_str(), "url" => plan.src.as_str()}),
        });
        sim.write_logs(
            srpm_task,
            &format!("Wrote: {srpm_name}\n"),
            "rebuildSRPM: buildroot ready\n",
        );
        if let Some(t) = st.tasks.get_mut(&srpm_task) {
            t.finish(TaskState::Closed, Ok(result));
        }
        let owner = st.tasks[&plan.task_id].owner_id;
        let priority = st.tasks[&plan.task_id].priority;
        let mut children = Vec::new();
        for (i, arch) in plan.arches.iter().enumerate() {
            let id = st.new_task_id();
            let request = vec![
                Value::String(srpm_path.clone()),
                Value::Int(plan.build_tag),
                Value::str(arch),
                Value::Bool(i == 0),
                Value::Struct(xstruct! {"repo_id" => plan.repo_id, "scratch" => true}),
            ];
            let canon = if arch == "noarch" {
                "x86_64"
            } else {
                koschei_koji::canon_arch(arch)
            };
            let mut t = Task::open(id, "buildArch", Some(plan.task_id), canon, request);
            t.label = Some(arch.clone());
            t.owner_id = owner;
            t.priority = priority + 19;
            t.host_id = sim.pick_host(st);
            st.tasks.insert(id, t);
            children.push((id, arch.clone()));
        }
        if let Some(p) = st.tasks.get_mut(&plan.task_id) {
            p.children.extend(children.iter().map(|(id, _)| *id));
        }
        (children, nvr.unwrap_or_default())
    };

    // Phase 2: resolve the BuildRequires in the repo, then finish the arch tasks.
    let inputs = {
        let st = sim.lock();
        resolution_inputs(&st, &srpm_nvr, plan.repo_id)
    };
    tokio::time::sleep(Duration::from_secs_f64(build_time * 0.8)).await;
    let resolution = match inputs {
        Some((group, brs)) => sim.resolve(plan.repo_id, group, brs).await,
        None => Err(anyhow::anyhow!("repo {} has no build group", plan.repo_id)),
    };
    let mut guard = sim.lock();
    let st = &mut *guard;
    if st
        .tasks
        .get(&plan.task_id)
        .is_none_or(|t| t.state != TaskState::Open)
    {
        return;
    }
    let random_failure = sim.roll(st.failure_rate);
    // A scripted incompatibility with a package in the buildroot.
    let package_name = srpm_nvr
        .rsplitn(3, '-')
        .nth(2)
        .unwrap_or(&srpm_nvr)
        .to_owned();
    let broken_by = resolution.as_ref().ok().and_then(|r| {
        r.installed
            .iter()
            .find(|nvr| {
                st.breaks
                    .get(*nvr)
                    .is_some_and(|names| names.contains(&package_name))
            })
            .cloned()
    });
    let rebuilt: Vec<Vec<(String, Arc<NewBinary>)>> = {
        let build = st.build_ids.get(&srpm_nvr).and_then(|id| st.build(*id));
        children
            .iter()
            .enumerate()
            .map(|(i, (_, arch))| {
                let binaries = build.map_or_else(Vec::new, |b| {
                    rebuilt_binaries(st, b, plan.repo_id, arch, i == 0)
                });
                binaries.into_iter().map(|b| (b.file_name(), b)).collect()
            })
            .collect()
    };
    let mut first_fault = None;
    for ((id, arch), outputs) in children.iter().zip(rebuilt) {
        let (outcome, root_log, build_log) = match &resolution {
            Err(e) => {
                warn!(task = id, error = %e, "resolution failed");
                let msg = format!("DEBUG util.py: buildroot setup failed: {e}\n");
                (Err(build_error(arch, 30, "root.log")), msg, String::new())
            }
            Ok(r) if !r.resolved => {
                let mut log =
                    String::from("DEBUG util.py:446:  Problem: unresolvable BuildRequires\n");
                for p in &r.problems {
                    log.push_str(&format!("DEBUG util.py:446:  {p}\n"));
                }
                (Err(build_error(arch, 30, "root.log")), log, String::new())
            }
            Ok(_) if broken_by.is_some() => (
                Err(build_error(arch, 1, "build.log")),
                "DEBUG util.py: buildroot ready\n".to_owned(),
                format!(
                    "error: {} is incompatible with {}\nerror: Bad exit status from /var/tmp/rpm-tmp (%build)\n",
                    package_name,
                    broken_by.as_deref().unwrap_or_default()
                ),
            ),
            Ok(_) if random_failure => (
                Err(build_error(arch, 1, "build.log")),
                "DEBUG util.py: buildroot ready\n".to_owned(),
                "error: Bad exit status from /var/tmp/rpm-tmp (%build)\n".to_owned(),
            ),
            Ok(r) => {
                let rpms: Vec<String> = outputs
                    .iter()
                    .map(|(file, _)| format!("{}/{file}", Task::work_dir(*id)))
                    .collect();
                let result = Value::Struct(xstruct! {
                    "rpms" => rpms,
                    "srpms" => Vec::<String>::new(),
                    "logs" => vec![format!("{}/build.log", Task::work_dir(*id)), format!("{}/root.log", Task::work_dir(*id))],
                    "brootid" => *id,
                });
                (
                    Ok(result),
                    format!(
                        "DEBUG util.py: installed {} packages into the buildroot\n",
                        r.installs
                    ),
                    format!("Wrote: {srpm_nvr}\nChild return code was: 0\n"),
                )
            }
        };
        sim.write_logs(*id, &build_log, &root_log);
        let state = if outcome.is_ok() {
            TaskState::Closed
        } else {
            TaskState::Failed
        };
        if let Err(f) = &outcome {
            first_fault.get_or_insert_with(|| f.clone());
        }
        if let Some(t) = st.tasks.get_mut(id) {
            if outcome.is_ok() {
                t.outputs = outputs;
            }
            t.finish(state, outcome);
        }
    }
    match first_fault {
        Some(f) => finish_parent(&sim, st, plan.task_id, TaskState::Failed, Err(f)),
        None if children.is_empty() => finish_parent(
            &sim,
            st,
            plan.task_id,
            TaskState::Failed,
            Err(Fault::koji(
                FaultKind::BuildError,
                "No matching arches were found",
            )),
        ),
        None => finish_parent(&sim, st, plan.task_id, TaskState::Closed, Ok(Value::Nil)),
    }
}

/// The build group and BuildRequires strings of an SRPM for a repo.
fn resolution_inputs(st: &State, nvr: &str, repo_id: i64) -> Option<(Vec<String>, Vec<String>)> {
    let repo = st.repo(repo_id)?;
    let build = st.build(*st.build_ids.get(nvr)?)?;
    let groups = st.groups_at(repo.tag_id, repo.create_event);
    let group = groups
        .iter()
        .find(|(_, g)| g.name == "build")
        .map(|(_, g)| {
            g.packages
                .iter()
                .filter(|p| !p.blocked && matches!(p.kind.as_str(), "mandatory" | "default"))
                .map(|p| p.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let brs = build
        .source
        .requires
        .iter()
        .filter_map(|d| {
            dep_to_string(&RpmDep {
                name: d.name.to_string(),
                version: d.version.to_string(),
                flags: d.flags,
                dep_type: 0,
            })
        })
        .collect();
    Some((group, brs))
}

fn finish_parent(
    sim: &Sim,
    st: &mut State,
    task_id: i64,
    state: TaskState,
    result: Result<Value, Fault>,
) {
    let Some(t) = st.tasks.get_mut(&task_id) else {
        return;
    };
    let old = t.state;
    t.finish(state, result);
    info!(
        task = task_id,
        state = state.name(),
        "scratch build finished"
    );
    if let Some(m) = state_change_message(sim, st, task_id, old) {
        sim.publish(m);
    }
}

/// Cancels a task and its unfinished descendants; returns the (old state, id) of the
/// tasks whose state changed.
pub fn cancel(st: &mut State, task_id: i64) -> Vec<(i64, TaskState)> {
    let mut changed = Vec::new();
    let mut stack = vec![task_id];
    while let Some(id) = stack.pop() {
        let Some(t) = st.tasks.get_mut(&id) else {
            continue;
        };
        stack.extend(t.children.iter().copied());
        if !t.state.is_finished() {
            let old = t.state;
            t.finish(
                TaskState::Canceled,
                Err(Fault::generic(format!("Task {id} is canceled"))),
            );
            changed.push((id, old));
        }
    }
    changed
}

/// What the parent task of a scratch build is made of.
pub struct TreeSpec<'a> {
    /// The source as given to `build`.
    pub src: &'a str,
    /// The `build` call's arguments.
    pub request: Vec<Value>,
    /// Owner.
    pub owner_id: i64,
    /// Priority.
    pub priority: i64,
    /// Build tag id.
    pub build_tag: i64,
    /// Repo id used.
    pub repo_id: i64,
}

/// Creates the parent `build` task and its `rebuildSRPM` child; returns the parent.
pub fn create_build_tree(st: &mut State, sim: &Sim, spec: TreeSpec<'_>) -> i64 {
    let TreeSpec {
        src: plan_src,
        request,
        owner_id,
        priority,
        build_tag,
        repo_id,
    } = spec;
    let parent_id = st.new_task_id();
    let mut parent = Task::open(parent_id, "build", None, "noarch", request);
    parent.owner_id = owner_id;
    parent.priority = priority;
    parent.waiting = Some(true);
    parent.host_id = sim.pick_host(st);
    let srpm_id = st.new_task_id();
    let mut srpm_opts = Struct::new();
    srpm_opts.insert("repo_id".into(), Value::Int(repo_id));
    srpm_opts.insert("scratch".into(), Value::Bool(true));
    let mut srpm = Task::open(
        srpm_id,
        "rebuildSRPM",
        Some(parent_id),
        "noarch",
        vec![
            Value::str(plan_src),
            Value::Int(build_tag),
            Value::Struct(srpm_opts),
        ],
    );
    srpm.label = Some("srpm".to_owned());
    srpm.owner_id = owner_id;
    srpm.priority = priority + 19;
    srpm.host_id = sim.pick_host(st);
    parent.children.push(srpm_id);
    st.tasks.insert(parent_id, parent);
    st.tasks.insert(srpm_id, srpm);
    parent_id
}
