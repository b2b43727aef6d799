//! Comps groups of tags: `getTagGroups`, `groupListAdd`, `groupPackageListAdd`.

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, Value};
use koschei_koji::xstruct;

use super::tags::tag_arg;
use super::values::{generic, Res};
use crate::args::Args;
use crate::comps::{Group, GroupPackage};
use crate::sim::Sim;
use crate::state::State;

fn group_value(tag_id: i64, g: &Group, incl_blocked: bool) -> Value {
    let packages: Vec<Value> = g
        .packages
        .iter()
        .filter(|p| incl_blocked || !p.blocked)
        .map(|p| {
            Value::Struct(xstruct! {
                "package" => p.name.as_str(),
                "type" => p.kind.as_str(),
                "blocked" => p.blocked,
                "basearchonly" => Value::Nil,
                "requires" => Value::Nil,
                "tag_id" => tag_id,
                "group_id" => g.id,
            })
        })
        .collect();
    Value::Struct(xstruct! {
        "group_id" => g.id,
        "name" => g.name.as_str(),
        "display_name" => g.display_name.as_str(),
        "description" => g.description.clone(),
        "is_default" => g.is_default,
        "uservisible" => g.uservisible,
        "biarchonly" => false,
        "langonly" => Value::Nil,
        "exported" => true,
        "blocked" => g.blocked,
        "tag_id" => tag_id,
        "grouplist" => Value::Array(Vec::new()),
        "packagelist" => Value::Array(packages),
    })
}

pub(super) fn get_tag_groups(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let tag = tag_arg(&st, args, 0, "tag")?;
    let event = args.int(1, "event")?.unwrap_or(st.event);
    let incl_blocked = args.flag(5, "incl_blocked", false);
    let groups = st.groups_at(tag.id, event);
    Ok(Value::Array(
        groups
            .iter()
            .filter(|(_, g)| incl_blocked || !g.blocked)
            .map(|(t, g)| group_value(*t, g, incl_blocked))
            .collect(),
    ))
}

fn current_groups(st: &State, tag_id: i64) -> Vec<Group> {
    st.groups_at(tag_id, st.event)
        .into_iter()
        .map(|(_, g)| g)
        .collect()
}

pub(super) fn group_list_add(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let tag_id = tag_arg(&st, args, 0, "taginfo")?.id;
    let name = args
        .str(1, "grpinfo")?
        .ok_or_else(|| Fault::parameter("grpinfo required"))?
        .to_owned();
    let block = args.flag(2, "block", false);
    let mut groups = current_groups(&st, tag_id);
    match groups.iter_mut().find(|g| g.name == name) {
        Some(g) => g.blocked = block,
        None => groups.push(Group {
            id: 0,
            display_name: args.kw_str("display_name")?.unwrap_or(&name).to_owned(),
            name,
            description: args.kw_str("description")?.map(str::to_owned),
            is_default: false,
            uservisible: true,
            blocked: block,
            packages: Vec::new(),
        }),
    }
    st.set_groups(tag_id, groups);
    Ok(Value::Nil)
}

pub(super) fn group_package_list_add(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let tag_id = tag_arg(&st, args, 0, "taginfo")?.id;
    let group = args
        .str(1, "grpinfo")?
        .ok_or_else(|| Fault::parameter("grpinfo required"))?
        .to_owned();
    let package = args
        .str(2, "pkg_name")?
        .ok_or_else(|| Fault::parameter("pkg_name required"))?
        .to_owned();
    // Koji keeps only `type`, `basearchonly` and `requires` of the other keyword
    // arguments, so a `blocked=` keyword is ignored as there.
    let blocked = args.flag(3, "block", false);
    let kind = args.kw_str("type")?.unwrap_or("mandatory").to_owned();
    let mut groups = current_groups(&st, tag_id);
    let g = groups
        .iter_mut()
        .find(|g| g.name == group)
        .ok_or_else(|| generic(format!("group {group} not present in tag {tag_id}")))?;
    match g.packages.iter_mut().find(|p| p.name == package) {
        Some(p) => {
            p.kind = kind;
            p.blocked = blocked;
        }
        None => g.packages.push(GroupPackage {
            name: package,
            kind,
            blocked,
        }),
    }
    st.set_groups(tag_id, groups);
    Ok(Value::Nil)
}
