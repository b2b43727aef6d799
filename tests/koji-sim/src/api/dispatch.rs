//! The hub's method table: [`call`] hands each Koji method to its area's module.

use std::sync::Arc;

use koschei_koji::xmlrpc::Value;

use super::caller::Caller;
use super::values::{generic, Res};
use super::{builds, external_repos, groups, hosts, repos, session, side_tags, tags, tasks};
use crate::args::Args;
use crate::sim::Sim;

/// Dispatches one (non-multicall) hub method.
pub async fn call(sim: &Arc<Sim>, caller: Caller, method: &str, args: &Args) -> Res {
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
        "listTaskOutput" => tasks::list_task_output(sim, args),
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
        "createSideTag" => side_tags::create_side_tag(sim, caller, args).await,
        "removeSideTag" => side_tags::remove_side_tag(sim, caller, args),
        "listSideTags" => side_tags::list_side_tags(sim, args),
        _ => Err(generic(format!("Invalid method: {method}"))),
    }
}
