//! The Koji hub calls Koschei makes (`koschei/backend/koji_util.py` and the backend
//! services in fedora-infra/koschei; listed in this crate's README), plus the few calls
//! Koji's own client and tools make, with Koji's argument names, return shapes and
//! faults. [`call`] dispatches a method to its Koji area's module.

mod builds;
mod external_repos;
mod groups;
mod hosts;
mod repos;
mod session;
mod tags;
mod tasks;

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, FaultKind, Value};

use crate::args::Args;
use crate::sim::Sim;

pub use builds::{build_summary, find_build};
pub use tags::{find_tag, set_tagged};

/// Who is calling.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller {
    /// The logged-in user, if any.
    pub user_id: Option<i64>,
    /// The user the transport authenticated for `sslLogin` (a Kerberos principal's user);
    /// `None` takes the client certificate on trust (user `koschei`).
    pub login_user: Option<i64>,
    /// Why the session the call carried is not accepted (`AuthError`, `AuthExpired`).
    pub session_problem: Option<FaultKind>,
    /// The session id, when the session is valid.
    pub session_id: Option<i64>,
    /// The call number the client sent with the session.
    pub callnum: Option<i64>,
}

type Res = Result<Value, Fault>;

fn generic(msg: impl Into<String>) -> Fault {
    Fault::generic(msg)
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// Python's `str()` of a tag or repo argument (Koji's `%s` in messages).
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn arch_filter(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(
            s.split([' ', ','])
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

/// Dispatches one (non-multicall, non-async) hub method.
pub fn call(sim: &Arc<Sim>, caller: Caller, method: &str, args: &Args) -> Res {
    match method {
        "getKojiVersion" => Ok(Value::str("1.35.0")),
        "getAPIVersion" => Ok(Value::Int(1)),
        "echo" => Ok(Value::Array(
            args.get(0, "args").cloned().into_iter().collect(),
        )),
        "sslLogin" => session::ssl_login(sim, caller),
        "logout" => Ok(Value::Nil),
        "getLoggedInUser" => Ok(session::logged_in_user(sim, caller)),
        "getBuildTarget" => tags::get_build_target(sim, args),
        "getBuildConfig" => tags::get_build_config(sim, args),
        "getTag" => tags::get_tag(sim, args),
        "getFullInheritance" => tags::get_full_inheritance(sim, args),
        "getBuild" => builds::get_build(sim, args),
        "listPackages" => tags::list_packages(sim, args),
        "listTagged" => tags::list_tagged(sim, args),
        "listRPMs" => builds::list_rpms(sim, args),
        "getRPMDeps" => builds::get_rpm_deps(sim, args),
        "getRPMHeaders" => builds::get_rpm_headers(sim, args),
        "getRepo" => repos::get_repo(sim, args),
        "repoInfo" => repos::repo_info_call(sim, args),
        "getTagGroups" => groups::get_tag_groups(sim, args),
        "getChannel" => hosts::get_channel(args),
        "listHosts" => hosts::list_hosts(sim, args),
        "build" => tasks::build(sim, caller, args),
        "getTaskInfo" => tasks::get_task_info(sim, args),
        "listTasks" => tasks::list_tasks(sim, args),
        "getTaskChildren" => tasks::get_task_children(sim, args),
        "getTaskResult" => tasks::get_task_result(sim, args),
        "cancelTask" => tasks::cancel_task(sim, args),
        "createTag" => tags::create_tag(sim, args),
        "createBuildTarget" => tags::create_build_target(sim, args),
        "groupListAdd" => groups::group_list_add(sim, args),
        "groupPackageListAdd" => groups::group_package_list_add(sim, args),
        "getTagExternalRepos" => external_repos::get_tag_external_repos(sim, args),
        "getExternalRepo" => external_repos::get_external_repo(sim, args),
        "createExternalRepo" => external_repos::create_external_repo(sim, args),
        "addExternalRepoToTag" => external_repos::add_external_repo_to_tag(sim, args),
        "removeExternalRepoFromTag" => external_repos::remove_external_repo_from_tag(sim, args),
        "newRepo" => repos::new_repo(sim, caller, args),
        _ => Err(generic(format!("Invalid method: {method}"))),
    }
}
