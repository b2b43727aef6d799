//! External repos and their association with tags (`createExternalRepo`,
//! `getExternalRepo`, `getTagExternalRepos`, `addExternalRepoToTag`,
//! `removeExternalRepoFromTag`).

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, Value};
use koschei_koji::xstruct;

use super::tags::{find_tag, tag_arg};
use super::values::{generic, py_repr, py_str, Res};
use crate::args::Args;
use crate::sim::Sim;
use crate::state::State;

fn find_external<'a>(st: &'a State, info: &Value) -> Option<&'a crate::state::ExternalRepo> {
    match info {
        Value::Int(id) => st.external_repos.iter().find(|r| r.id == *id),
        Value::String(n) => st.external_repos.iter().find(|r| &r.name == n),
        _ => None,
    }
}

fn external_value(r: &crate::state::ExternalRepo) -> Value {
    Value::Struct(xstruct! {"id" => r.id, "name" => r.name.as_str(), "url" => r.url.as_str()})
}

/// The external repo `info` names, or Koji's `No such repo` fault.
fn external_arg<'a>(st: &'a State, info: &Value) -> Result<&'a crate::state::ExternalRepo, Fault> {
    find_external(st, info).ok_or_else(|| generic(format!("No such repo: {}", py_str(info))))
}

pub(super) fn create_external_repo(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let name = args
        .str(0, "name")?
        .ok_or_else(|| Fault::parameter("name required"))?
        .to_owned();
    let url = args
        .str(1, "url")?
        .ok_or_else(|| Fault::parameter("url required"))?
        .to_owned();
    if st.external_repos.iter().any(|r| r.name == name) {
        return Err(generic(format!(
            "An external repo named \"{name}\" already exists"
        )));
    }
    // Koji makes every external repo URL end with a slash.
    let url = if url.ends_with('/') {
        url
    } else {
        format!("{url}/")
    };
    let id = st.external_repos.len() as i64 + 1;
    st.external_repos
        .push(crate::state::ExternalRepo { id, name, url });
    Ok(external_value(&st.external_repos[(id - 1) as usize]))
}

/// Koji's `getTagExternalRepos(tag_info, repo_info)`: an unknown tag or repo is a
/// fault; the associations come ordered by priority.
pub(super) fn get_tag_external_repos(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let tag_filter = match args.get(0, "tag_info").filter(|v| !v.is_nil()) {
        Some(i) => Some(
            find_tag(&st, i)
                .ok_or_else(|| generic(format!("No such tagInfo: {}", py_repr(i))))?
                .id,
        ),
        None => None,
    };
    let repo_filter = match args.get(1, "repo_info").filter(|v| !v.is_nil()) {
        Some(i) => Some(external_arg(&st, i)?.id),
        None => None,
    };
    let mut out = Vec::new();
    for t in &st.tags {
        if tag_filter.is_some_and(|f| f != t.id) {
            continue;
        }
        for (repo_id, priority, mode) in &t.external_repos {
            if repo_filter.is_some_and(|f| f != *repo_id) {
                continue;
            }
            let Some(r) = find_external(&st, &Value::Int(*repo_id)) else {
                continue;
            };
            out.push((
                *priority,
                Value::Struct(xstruct! {
                    "external_repo_id" => r.id,
                    "external_repo_name" => r.name.as_str(),
                    "url" => r.url.as_str(),
                    "priority" => *priority,
                    "tag_id" => t.id,
                    "tag_name" => t.name.as_str(),
                    "merge_mode" => mode.as_str(),
                    "arches" => Value::Nil,
                }),
            ));
        }
    }
    out.sort_by_key(|(priority, _)| *priority);
    Ok(Value::Array(out.into_iter().map(|(_, v)| v).collect()))
}

pub(super) fn add_external_repo_to_tag(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let tag_id = tag_arg(&st, args, 0, "tag_info")?.id;
    let repo = external_arg(&st, args.req(1, "repo_info")?)?;
    let (repo_id, repo_name) = (repo.id, repo.name.clone());
    let priority = args
        .int(2, "priority")?
        .ok_or_else(|| Fault::parameter("priority required"))?;
    let mode = args.str(3, "merge_mode")?.unwrap_or("koji").to_owned();
    if !["koji", "simple", "bare"].contains(&mode.as_str()) {
        return Err(generic(format!("No such merge mode: {mode}")));
    }
    let tag = &mut st.tags[(tag_id - 1) as usize];
    if tag.external_repos.iter().any(|(r, _, _)| *r == repo_id) {
        return Err(generic(format!(
            "tag {} already associated with external repo {repo_name}",
            tag.name
        )));
    }
    if tag.external_repos.iter().any(|(_, p, _)| *p == priority) {
        return Err(generic(format!(
            "tag {} already associated with an external repo at priority {priority}",
            tag.name
        )));
    }
    tag.external_repos.push((repo_id, priority, mode));
    Ok(Value::Nil)
}

pub(super) fn remove_external_repo_from_tag(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let tag_id = tag_arg(&st, args, 0, "tag_info")?.id;
    let repo = external_arg(&st, args.req(1, "repo_info")?)?;
    let (repo_id, repo_name) = (repo.id, repo.name.clone());
    let tag = &mut st.tags[(tag_id - 1) as usize];
    let before = tag.external_repos.len();
    tag.external_repos.retain(|(r, _, _)| *r != repo_id);
    if tag.external_repos.len() == before {
        return Err(generic(format!(
            "external repo {repo_name} not associated with tag {}",
            tag.name
        )));
    }
    Ok(Value::Nil)
}

/// `getExternalRepo(info)`: the external repo by id or name, or nil.
pub(super) fn get_external_repo(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let info = args.req(0, "info")?;
    Ok(find_external(&st, info).map_or(Value::Nil, external_value))
}
