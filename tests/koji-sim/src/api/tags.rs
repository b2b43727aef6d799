//! Tags: lookups, inheritance, build targets, package lists, tagging and tag creation.

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, FaultKind, Struct, Value};
use koschei_koji::xstruct;

use super::builds::{build_info, find_build};
use super::caller::Caller;
use super::values::{generic, py_repr, Res};
use crate::args::Args;
use crate::messaging::Message;
use crate::sim::Sim;
use crate::state::{State, Tag};

/// Looks a tag up by id, name or `{id|name}` struct.
pub fn find_tag<'a>(st: &'a State, info: &Value) -> Option<&'a Tag> {
    match info {
        Value::Int(id) => st.live_tag(*id),
        Value::String(name) => st.tag_by_name(name),
        Value::Struct(m) => m
            .get("id")
            .and_then(|v| find_tag(st, v))
            .or_else(|| m.get("name").and_then(|v| find_tag(st, v))),
        _ => None,
    }
}

pub(super) fn tag_arg<'a>(
    st: &'a State,
    args: &Args,
    index: usize,
    name: &str,
) -> Result<&'a Tag, Fault> {
    let info = args.req(index, name)?;
    find_tag(st, info).ok_or_else(|| generic(format!("No such tagInfo: {}", py_repr(info))))
}

/// The id of a tag argument as Koji's `get_tag_id` finds it: a deleted tag still has
/// its id (a live tag of the name wins); an unknown one is a fault.
pub(super) fn tag_id_arg(st: &State, args: &Args, index: usize, name: &str) -> Result<i64, Fault> {
    let info = args.req(index, name)?;
    let deleted = || match info {
        Value::Int(id) => st.tag(*id),
        Value::String(name) => st.tags.iter().find(|t| &t.name == name),
        _ => None,
    };
    find_tag(st, info)
        .or_else(deleted)
        .map(|t| t.id)
        .ok_or_else(|| generic(format!("No such tagInfo: {}", py_repr(info))))
}

fn tag_info(t: &Tag) -> Value {
    Value::Struct(xstruct! {
        "id" => t.id,
        "name" => t.name.as_str(),
        "arches" => t.arches.clone(),
        "locked" => t.locked,
        "perm" => Value::Nil,
        "perm_id" => Value::Nil,
        "maven_support" => false,
        "maven_include_all" => false,
        "extra" => Value::Struct(t.extra.clone()),
    })
}

/// `getFullInheritance(tag)`: one entry per ancestor in Koji's walk order; a parent's
/// `priority` is its position among the child's parents × 10, no depth limits or filters.
fn full_inheritance(st: &State, tag_id: i64) -> Value {
    let entries = st
        .inheritance_links(tag_id)
        .into_iter()
        .filter_map(|(child, parent, depth)| {
            let position = st.tag(child)?.parents.iter().position(|p| *p == parent)?;
            let name = st.tag(parent)?.name.as_str();
            Some(Value::Struct(xstruct! {
                "child_id" => child, "parent_id" => parent, "name" => name,
                "currdepth" => depth, "nextdepth" => Value::Nil, "maxdepth" => Value::Nil,
                "priority" => (position as i64) * 10, "intransitive" => false,
                "noconfig" => false, "pkg_filter" => "", "filter" => Value::Array(Vec::new()),
            }))
        })
        .collect();
    Value::Array(entries)
}

pub(super) fn get_build_target(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let info = args.req(0, "info")?;
    let target = st.targets.iter().find(|t| match info {
        Value::Int(id) => t.id == *id,
        Value::String(n) => &t.name == n,
        _ => false,
    });
    Ok(match target {
        Some(t) => Value::Struct(xstruct! {
            "id" => t.id,
            "name" => t.name.as_str(),
            "build_tag" => t.build_tag,
            "build_tag_name" => st.tag(t.build_tag).map(|x| x.name.clone()),
            "dest_tag" => t.dest_tag,
            "dest_tag_name" => st.tag(t.dest_tag).map(|x| x.name.clone()),
        }),
        None => Value::Nil,
    })
}

pub(super) fn list_packages(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let tag = tag_arg(&st, args, 0, "tagID")?;
    let chain = if args.flag(4, "inherited", false) {
        st.inheritance(tag.id)
    } else {
        vec![tag.id]
    };
    let prefix = args.str(3, "prefix")?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for t in chain {
        let Some(list) = st.package_lists.get(&t) else {
            continue;
        };
        let tag_name = st.tag(t).map(|x| x.name.clone()).unwrap_or_default();
        for (pkg_id, l) in list {
            let name = &st.packages[(*pkg_id - 1) as usize];
            if !seen.insert(*pkg_id) || prefix.is_some_and(|p| !name.starts_with(p)) {
                continue;
            }
            out.push(Value::Struct(xstruct! {
                "package_id" => *pkg_id,
                "package_name" => name.as_str(),
                "tag_id" => t,
                "tag_name" => tag_name.as_str(),
                "owner_id" => l.owner_id,
                "owner_name" => st.user_name(l.owner_id),
                "blocked" => l.blocked,
                "extra_arches" => Value::Nil,
            }));
        }
    }
    Ok(Value::Array(out))
}

pub(super) fn list_tagged(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let tag = tag_arg(&st, args, 0, "tag")?;
    let event = args.int(1, "event")?.unwrap_or(st.event);
    let inherit = args.flag(2, "inherit", false);
    let latest = args.flag(4, "latest", false);
    let package = args.str(5, "package")?;
    let tagged = st.tagged(tag.id, event, inherit, latest, package);
    Ok(Value::Array(
        tagged
            .into_iter()
            .filter_map(|(t, b)| Some(build_info(&st, st.build(b)?, st.tag(t))))
            .collect(),
    ))
}

pub(super) fn create_tag(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let name = args
        .str(0, "name")?
        .ok_or_else(|| Fault::parameter("name required"))?
        .to_owned();
    if st.tag_by_name(&name).is_some() {
        return Err(generic(format!(
            "A tag with the name {name} already exists"
        )));
    }
    let parent = match args.get(1, "parent") {
        Some(p) => vec![
            find_tag(&st, p)
                .ok_or_else(|| generic(format!("No such tagInfo: {}", py_repr(p))))?
                .id,
        ],
        None => Vec::new(),
    };
    let arches = args.str(2, "arches")?.map(|a| a.replace(',', " "));
    let extra = match args.get(7, "extra") {
        Some(Value::Struct(m)) => m.clone(),
        Some(_) => return Err(Fault::parameter("extra must be a struct")),
        None => Struct::new(),
    };
    st.new_event();
    let id = st.add_tag(&name, arches, parent);
    if let Some(tag) = st.tag_mut(id) {
        tag.extra = extra;
    }
    Ok(Value::Int(id))
}

pub(super) fn create_build_target(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let name = args
        .str(0, "name")?
        .ok_or_else(|| Fault::parameter("name required"))?
        .to_owned();
    let build_tag = tag_arg(&st, args, 1, "build_tag")?.id;
    let dest_tag = tag_arg(&st, args, 2, "dest_tag")?.id;
    if st.targets.iter().any(|t| t.name == name) {
        return Err(generic(format!(
            "A build target with the name '{name}' already exists"
        )));
    }
    st.add_target(&name, build_tag, dest_tag);
    Ok(Value::Nil)
}

/// Tags or untags a build, publishing `buildsys.tag` / `buildsys.untag`.
pub fn set_tagged(sim: &Arc<Sim>, caller: Caller, args: &Args, tagged: bool) -> Res {
    let mut guard = sim.lock();
    let st = &mut *guard;
    let tag = tag_arg(st, args, 0, "tag")?.clone();
    let info = args.req(1, "build")?;
    let build = find_build(st, info)
        .ok_or_else(|| generic(format!("No such build: {}", py_repr(info))))?
        .clone();
    let event = st.new_event();
    if tagged {
        st.tag_build(tag.id, build.id, event);
        let listing = st.package_lists.entry(tag.id).or_default();
        listing
            .entry(build.package_id)
            .or_insert(crate::state::PackageListing {
                owner_id: build.owner_id,
                blocked: false,
            });
    } else if !st.untag_build(tag.id, build.id, event) {
        return Err(Fault::koji(
            FaultKind::TagError,
            format!("build {} not in tag {}", build.source.nvr(), tag.name),
        ));
    }
    let user = caller
        .user_id
        .map_or("kojiadmin".to_owned(), |u| st.user_name(u).to_owned());
    sim.publish(Message::tagging(
        tagged,
        &tag.name,
        tag.id,
        &build.source.name,
        &build.source.version,
        &build.source.release,
        build.id,
        &user,
        st.user_name(build.owner_id),
    ));
    Ok(Value::Int(event))
}

/// `getBuildConfig(tag)`: the tag's info; an unknown tag is a fault.
pub(super) fn get_build_config(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    tag_arg(&st, args, 0, "tag").map(tag_info)
}

/// `getTag(tagInfo)`: the tag's info, or nil.
pub(super) fn get_tag(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    Ok(args
        .get(0, "tagInfo")
        .and_then(|i| find_tag(&st, i))
        .map_or(Value::Nil, tag_info))
}

/// `getFullInheritance(tag)` of an existing tag; an unknown tag is a fault.
pub(super) fn get_full_inheritance(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    tag_arg(&st, args, 0, "tag").map(|tag| full_inheritance(&st, tag.id))
}
