//! Side tags as Koji's `sidetag` hub plugin offers them: `createSideTag`,
//! `removeSideTag` and `listSideTags`. A side tag is an ordinary tag (inheriting from
//! its base tag, with a build target of its name) marked in its `extra`; kojira is
//! simulated: a new side tag gets its first repo at once, a removed one's repos are
//! deleted. The plugin's policy, allowed suffixes and owner check are not simulated.

use std::sync::Arc;

use koschei_koji::xmlrpc::{Struct, Value};
use koschei_koji::xstruct;

use super::caller::Caller;
use super::session::assert_login;
use super::tags::tag_arg;
use super::values::{generic, py_repr, QueryOpts, Res};
use crate::args::Args;
use crate::sim::Sim;
use crate::state::{State, Tag, User};

/// `createSideTag(basetag, debuginfo=False, suffix=None)` → `{name, id, task_id,
/// request}`: tag `<basetag>-side-<id>[-<suffix>]` with the base tag's arches and the
/// base tag as its only parent, and a target of the same name building in it and
/// tagging into it; its first repo is READY (`buildsys.repo.done` published) when the
/// call returns, so there is no repo request (`task_id` and `request` nil).
pub(super) async fn create_side_tag(sim: &Arc<Sim>, caller: Caller, args: &Args) -> Res {
    let user_id = assert_login(caller)?;
    let debuginfo = args.flag(1, "debuginfo", false);
    let suffix = args.str(2, "suffix")?.filter(|s| !s.is_empty());
    let (id, name) = {
        let mut st = sim.lock();
        let base = tag_arg(&st, args, 0, "basetag")?.clone();
        let id = st.next_tag_id();
        let mut name = format!("{}-side-{id}", base.name);
        if let Some(suffix) = suffix {
            name = format!("{name}-{suffix}");
        }
        let mut extra = xstruct! {
            "sidetag" => true,
            "sidetag_user" => st.user_name(user_id),
            "sidetag_user_id" => user_id,
        };
        if debuginfo {
            extra.insert("with_debuginfo".into(), Value::Bool(true));
        }
        st.new_event();
        st.add_tag(&name, base.arches.clone(), vec![base.id]);
        if let Some(tag) = st.tag_mut(id) {
            tag.extra = extra;
        }
        st.add_target(&name, id, id);
        (id, name)
    };
    sim.regen_repo(id)
        .await
        .map_err(|e| generic(format!("cannot make the first repo of {name}: {e}")))?;
    Ok(Value::Struct(xstruct! {
        "name" => name.as_str(),
        "id" => id,
        "task_id" => Value::Nil,
        "request" => Value::Nil,
    }))
}

/// `removeSideTag(sidetag)`: removes the side tag's target and the tag; kojira then
/// deletes its repos (state DELETED, files gone). A tag that is not a side tag, or whose
/// target is missing or changed, is a `GenericError` worded as the plugin words it.
pub(super) fn remove_side_tag(sim: &Arc<Sim>, caller: Caller, args: &Args) -> Res {
    assert_login(caller)?;
    let mut guard = sim.lock();
    let st = &mut *guard;
    let tag = tag_arg(st, args, 0, "sidetag")?;
    if !tag.is_side_tag() {
        return Err(generic(format!("Not a sidetag: {}", tag.name)));
    }
    let tag_id = tag.id;
    let target = st
        .targets
        .iter()
        .find(|t| t.name == tag.name)
        .ok_or_else(|| generic("Target is missing for sidetag"))?;
    if target.build_tag != tag_id || target.dest_tag != tag_id {
        return Err(generic("Target does not match sidetag"));
    }
    st.delete_tag(tag_id);
    sim.delete_repos_of(st, tag_id);
    Ok(Value::Nil)
}

/// `listSideTags(basetag=None, user=None, queryOpts=None)` → `[{id, name, user_id,
/// user_name}]`: the side tags whose parent is `basetag` and whose owner is `user` (id or
/// name). As in Koji, `user_id` is the text stored in the tag's extra (`"2"`, not `2`).
pub(super) fn list_side_tags(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let user = args
        .get(1, "user")
        .map(|u| find_user(&st, u).ok_or_else(|| generic(format!("No such user: {}", py_repr(u)))))
        .transpose()?;
    let basetag = match args.get(0, "basetag") {
        Some(_) => Some(tag_arg(&st, args, 0, "basetag")?.id),
        None => None,
    };
    let query = QueryOpts::from_arg(args.get(2, "queryOpts"))?;
    let mut entries: Vec<Struct> = st
        .tags
        .iter()
        .filter(|t| !t.deleted && t.is_side_tag())
        .filter_map(|t| Some((t, owner_id(t)?)))
        .filter(|(_, owner)| user.is_none_or(|u| u.id == *owner))
        .filter(|(t, _)| basetag.is_none_or(|b| t.parents.contains(&b)))
        .map(|(t, owner)| {
            xstruct! {
                "id" => t.id,
                "name" => t.name.as_str(),
                "user_id" => owner.to_string(),
                "user_name" => find_user(&st, &Value::Int(owner)).map(|u| u.name.clone()),
            }
        })
        .collect();
    if query.count_only {
        return Ok(Value::Int(entries.len() as i64));
    }
    if let Some((field, descending)) = query.order() {
        entries.sort_by(|a, b| {
            let ordering = order_key(a.get(field)).cmp(&order_key(b.get(field)));
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    Ok(Value::Array(
        query.page(entries).map(Value::Struct).collect(),
    ))
}

/// The owner recorded in a side tag's extra.
fn owner_id(tag: &Tag) -> Option<i64> {
    match tag.extra.get("sidetag_user_id")? {
        Value::String(s) => s.parse().ok(),
        other => other.as_i64(),
    }
}

/// A user by id or name.
fn find_user<'a>(st: &'a State, info: &Value) -> Option<&'a User> {
    st.users.iter().find(|u| match info {
        Value::Int(id) => u.id == *id,
        Value::String(name) => &u.name == name,
        _ => false,
    })
}

/// A sort key of a listed field (ids before texts, nil first).
fn order_key(v: Option<&Value>) -> (Option<i64>, Option<&str>) {
    (v.and_then(Value::as_i64), v.and_then(Value::as_str))
}
