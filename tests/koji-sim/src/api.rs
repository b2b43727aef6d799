//! The Koji hub API of spec Appendix A (plus the few calls Koji's own client and tools
//! make), with Koji's argument names, return shapes and faults.

use std::sync::Arc;

use koschei_koji::model::{RepoState, TaskState};
use koschei_koji::xmlrpc::{is_truthy, Fault, FaultKind, Struct, Value};
use koschei_koji::xstruct;

use crate::args::Args;
use crate::comps::{Group, GroupPackage};
use crate::messaging::Message;
use crate::sim::Sim;
use crate::state::{koji_time, Build, Repo, Rpm, RpmContent, State, Tag};
use crate::tasks::{self, BuildPlan};

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

/// Looks a tag up by id, name or `{id|name}` struct.
pub fn find_tag<'a>(st: &'a State, info: &Value) -> Option<&'a Tag> {
    match info {
        Value::Int(id) => st.tag(*id),
        Value::String(name) => st.tag_by_name(name),
        Value::Struct(m) => m
            .get("id")
            .and_then(|v| find_tag(st, v))
            .or_else(|| m.get("name").and_then(|v| find_tag(st, v))),
        _ => None,
    }
}

fn tag_arg<'a>(st: &'a State, args: &Args, index: usize, name: &str) -> Result<&'a Tag, Fault> {
    let info = args.req(index, name)?;
    find_tag(st, info).ok_or_else(|| generic(format!("No such tagInfo: {}", py_repr(info))))
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// Looks a build up by id, NVR or `{id|nvr|name,version,release}`.
pub fn find_build<'a>(st: &'a State, info: &Value) -> Option<&'a Build> {
    match info {
        Value::Int(id) => st.build(*id),
        Value::String(nvr) => nvr
            .parse::<i64>()
            .ok()
            .and_then(|id| st.build(id))
            .or_else(|| st.build_ids.get(nvr.as_str()).and_then(|id| st.build(*id))),
        Value::Struct(m) => m.get("id").and_then(|v| find_build(st, v)).or_else(|| {
            let part = |k: &str| m.get(k).and_then(Value::as_str);
            let nvr = format!(
                "{}-{}-{}",
                part("name")?,
                part("version")?,
                part("release")?
            );
            st.build_ids.get(&nvr).and_then(|id| st.build(*id))
        }),
        _ => None,
    }
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
        "extra" => Value::Struct(Struct::new()),
    })
}

fn build_info(st: &State, b: &Build, tag: Option<&Tag>) -> Value {
    let mut m = xstruct! {
        "id" => b.id,
        "build_id" => b.id,
        "name" => b.source.name.as_str(),
        "package_name" => b.source.name.as_str(),
        "package_id" => b.package_id,
        "version" => b.source.version.as_str(),
        "release" => b.source.release.as_str(),
        "epoch" => b.source.epoch,
        "nvr" => b.source.nvr(),
        "state" => i64::from(b.state),
        "task_id" => b.task_id,
        "owner_id" => b.owner_id,
        "owner_name" => st.user_name(b.owner_id),
        "creation_event_id" => b.creation_event,
        "creation_time" => koji_time(b.creation_ts),
        "creation_ts" => b.creation_ts,
        "start_time" => koji_time(b.creation_ts),
        "start_ts" => b.creation_ts,
        "completion_time" => koji_time(b.completion_ts),
        "completion_ts" => b.completion_ts,
        "volume_id" => 0,
        "volume_name" => "DEFAULT",
        "draft" => false,
        "extra" => Value::Nil,
        "source" => Value::Nil,
        "cg_id" => Value::Nil,
        "cg_name" => Value::Nil,
    };
    if let Some(t) = tag {
        m.insert("tag_id".into(), Value::Int(t.id));
        m.insert("tag_name".into(), Value::str(&t.name));
    }
    Value::Struct(m)
}

fn rpm_info(r: &Rpm) -> Value {
    let n = r.nevra();
    Value::Struct(xstruct! {
        "id" => r.id,
        "build_id" => r.build_id,
        "name" => n.name,
        "version" => n.version,
        "release" => n.release,
        "epoch" => n.epoch,
        "arch" => n.arch,
        "nvr" => format!("{}-{}-{}", n.name, n.version, n.release),
        "buildroot_id" => r.build_id,
        "buildtime" => 1_700_000_000,
        "external_repo_id" => 0,
        "external_repo_name" => "INTERNAL",
        "extra" => Value::Nil,
        "metadata_only" => false,
        "payloadhash" => format!("{:032x}", (r.id as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        "size" => 4096 + r.id % 100_000,
        "draft" => false,
    })
}

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

/// Finds an rpm by id, `n-v-r.a` string or `{name, version, release, arch}`.
fn find_rpm<'a>(st: &'a State, info: &Value) -> Option<&'a Rpm> {
    let matches = |r: &&Rpm, name: &str, version: &str, release: &str, arch: &str| {
        let n = r.nevra();
        n.name == name && n.version == version && n.release == release && n.arch == arch
    };
    let by_nvra = |name: &str, version: &str, release: &str, arch: &str| {
        // Fast path: an SRPM is the first rpm of the build with that NVR.
        if arch == "src" {
            let b = st.build(*st.build_ids.get(&format!("{name}-{version}-{release}"))?)?;
            return st.rpm(b.rpms[0]);
        }
        st.rpms
            .iter()
            .find(|r| matches(r, name, version, release, arch))
    };
    match info {
        Value::Int(id) => st.rpm(*id),
        Value::String(s) => {
            let (nvr, arch) = s.rsplit_once('.')?;
            let (nv, release) = nvr.rsplit_once('-')?;
            let (name, version) = nv.rsplit_once('-')?;
            by_nvra(name, version, release, arch)
        }
        Value::Struct(m) => {
            if let Some(id) = m.get("id").and_then(Value::as_i64) {
                return st.rpm(id);
            }
            let part = |k: &str| m.get(k).and_then(Value::as_str);
            by_nvra(
                part("name")?,
                part("version")?,
                part("release")?,
                part("arch")?,
            )
        }
        _ => None,
    }
}

fn dep_values(deps: &[crate::rpmmd::Dep], dep_type: i64) -> Vec<Value> {
    deps.iter()
        .map(|d| {
            Value::Struct(xstruct! {
                "name" => d.name.as_ref(),
                "version" => d.version.as_ref(),
                "flags" => d.flags,
                "type" => dep_type,
            })
        })
        .collect()
}

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

/// Dispatches one (non-multicall, non-async) hub method.
pub fn call(sim: &Arc<Sim>, caller: Caller, method: &str, args: &Args) -> Res {
    match method {
        "getKojiVersion" => Ok(Value::str("1.35.0")),
        "getAPIVersion" => Ok(Value::Int(1)),
        "echo" => Ok(Value::Array(
            args.get(0, "args").cloned().into_iter().collect(),
        )),
        "sslLogin" => ssl_login(sim, caller),
        "logout" => Ok(Value::Nil),
        "getLoggedInUser" => Ok(caller.user_id.map_or(Value::Nil, |id| {
            let st = sim.lock();
            Value::Struct(
                xstruct! {"id" => id, "name" => st.user_name(id), "status" => 0, "usertype" => 0},
            )
        })),
        "getBuildTarget" => get_build_target(sim, args),
        "getBuildConfig" => {
            let st = sim.lock();
            tag_arg(&st, args, 0, "tag").map(tag_info)
        }
        "getTag" => {
            let st = sim.lock();
            Ok(args
                .get(0, "tagInfo")
                .and_then(|i| find_tag(&st, i))
                .map_or(Value::Nil, tag_info))
        }
        "getFullInheritance" => {
            let st = sim.lock();
            tag_arg(&st, args, 0, "tag").map(|tag| full_inheritance(&st, tag.id))
        }
        "getBuild" => {
            let st = sim.lock();
            let info = args.req(0, "buildInfo")?;
            Ok(find_build(&st, info).map_or(Value::Nil, |b| build_info(&st, b, None)))
        }
        "listPackages" => list_packages(sim, args),
        "listTagged" => list_tagged(sim, args),
        "listRPMs" => list_rpms(sim, args),
        "getRPMDeps" => get_rpm_deps(sim, args),
        "getRPMHeaders" => get_rpm_headers(sim, args),
        "getRepo" => get_repo(sim, args),
        "repoInfo" => {
            let st = sim.lock();
            let id = args
                .int(0, "repo_id")?
                .ok_or_else(|| Fault::parameter("repo_id required"))?;
            Ok(st.repo(id).map_or(Value::Nil, |r| repo_info(&st, r)))
        }
        "getTagGroups" => get_tag_groups(sim, args),
        "getChannel" => {
            let info = args.req(0, "channelInfo")?;
            Ok(
                if matches!(info, Value::Int(1)) || info.as_str() == Some("default") {
                    Value::Struct(
                        xstruct! {"id" => 1, "name" => "default", "description" => Value::Nil, "enabled" => true, "comment" => Value::Nil},
                    )
                } else {
                    Value::Nil
                },
            )
        }
        "listHosts" => list_hosts(sim, args),
        "build" => build(sim, caller, args),
        "getTaskInfo" => get_task_info(sim, args),
        "listTasks" => list_tasks(sim, args),
        "getTaskChildren" => {
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
        "getTaskResult" => get_task_result(sim, args),
        "cancelTask" => cancel_task(sim, args),
        "createTag" => create_tag(sim, args),
        "createBuildTarget" => create_build_target(sim, args),
        "groupListAdd" => group_list_add(sim, args),
        "groupPackageListAdd" => group_package_list_add(sim, args),
        "getTagExternalRepos" => get_tag_external_repos(sim, args),
        "getExternalRepo" => {
            let st = sim.lock();
            let info = args.req(0, "info")?;
            Ok(find_external(&st, info).map_or(Value::Nil, external_value))
        }
        "createExternalRepo" => create_external_repo(sim, args),
        "addExternalRepoToTag" => add_external_repo_to_tag(sim, args),
        "removeExternalRepoFromTag" => remove_external_repo_from_tag(sim, args),
        "newRepo" => new_repo(sim, caller, args),
        _ => Err(generic(format!("Invalid method: {method}"))),
    }
}

fn ssl_login(sim: &Arc<Sim>, caller: Caller) -> Res {
    let mut st = sim.lock();
    let user = caller.login_user.unwrap_or_else(|| st.add_user("koschei"));
    let id = st.sessions.len() as i64 + 1;
    let key = format!(
        "{id}-{:016x}",
        (id as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)
    );
    st.sessions.insert(id, (key.clone(), user));
    Ok(Value::Struct(
        xstruct! {"session-id" => id, "session-key" => key, "header-auth" => true},
    ))
}

fn get_build_target(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn list_packages(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn list_tagged(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn list_rpms(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let arches = arch_filter(args.get(5, "arches"));
    let Some(build_id) = args.int(0, "buildID")? else {
        return Err(Fault::parameter(
            "listRPMs: only buildID queries are simulated",
        ));
    };
    let Some(build) = st.build(build_id) else {
        return Ok(Value::Array(Vec::new()));
    };
    Ok(Value::Array(
        build
            .rpms
            .iter()
            .filter_map(|id| st.rpm(*id))
            .filter(|r| {
                arches
                    .as_ref()
                    .is_none_or(|a| a.iter().any(|x| x == r.nevra().arch))
            })
            .map(rpm_info)
            .collect(),
    ))
}

fn get_rpm_deps(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let info = args.req(0, "rpmID")?;
    let dep_type = args.int(1, "depType")?;
    let Some(rpm) = find_rpm(&st, info) else {
        return if args.flag(3, "strict", false) {
            Err(generic(format!("No such rpm: {}", py_repr(info))))
        } else {
            Ok(Value::Array(Vec::new()))
        };
    };
    let wanted = |t: i64| dep_type.is_none_or(|d| d == t);
    let mut out = Vec::new();
    match &rpm.content {
        RpmContent::Source(s) => {
            if wanted(0) {
                out.extend(dep_values(&s.requires, 0));
            }
        }
        RpmContent::NewBinary(b, _) => {
            if wanted(0) {
                out.extend(dep_values(&b.requires, 0));
            }
            if wanted(1) {
                out.extend(dep_values(&b.provides, 1));
            }
        }
        RpmContent::SeedBinary(_) => {}
    }
    Ok(Value::Array(out))
}

fn get_rpm_headers(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let Some(rpm) = args.get(0, "rpmID").and_then(|i| find_rpm(&st, i)) else {
        return Ok(Value::Struct(Struct::new()));
    };
    let n = rpm.nevra();
    let strings = |v: &[String]| Value::Array(v.iter().map(Value::str).collect());
    let mut all = xstruct! {
        "NAME" => n.name,
        "VERSION" => n.version,
        "RELEASE" => n.release,
        "EPOCH" => n.epoch,
        "ARCH" => n.arch,
    };
    if let RpmContent::Source(s) = &rpm.content {
        all.insert("BUILDARCHS".into(), strings(&s.build_archs));
        all.insert("EXCLUDEARCH".into(), strings(&s.exclude_arch));
        all.insert("EXCLUSIVEARCH".into(), strings(&s.exclusive_arch));
        all.insert(
            "REQUIRENAME".into(),
            Value::Array(
                s.requires
                    .iter()
                    .map(|d| Value::str(d.name.as_ref()))
                    .collect(),
            ),
        );
    }
    let Some(Value::Array(wanted)) = args.get(3, "headers") else {
        return Ok(Value::Struct(all));
    };
    let mut out = Struct::new();
    for h in wanted.iter().filter_map(Value::as_str) {
        let key = h.to_uppercase();
        out.insert(h.to_owned(), all.get(&key).cloned().unwrap_or(Value::Nil));
    }
    Ok(Value::Struct(out))
}

fn get_repo(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let tag = tag_arg(&st, args, 0, "tag")?;
    let state = match args.int(1, "state")? {
        Some(s) => RepoState::try_from(s).map_err(Fault::parameter)?,
        None => RepoState::Ready,
    };
    let event = args.int(2, "event")?;
    let repo = st.repos.iter().rev().find(|r| {
        r.tag_id == tag.id && r.state == state && event.is_none_or(|e| r.create_event <= e)
    });
    Ok(repo.map_or(Value::Nil, |r| repo_info(&st, r)))
}

fn get_tag_groups(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn list_hosts(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let arches = arch_filter(args.get(0, "arches"));
    let channel = args.int(1, "channelID")?;
    if channel.is_some_and(|c| c != 1) {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(
        st.hosts
            .iter()
            .filter(|h| {
                arches.as_ref().is_none_or(|a| {
                    a.iter()
                        .any(|x| h.arches.split_whitespace().any(|y| y == x))
                })
            })
            .map(|h| {
                Value::Struct(xstruct! {
                    "id" => h.id,
                    "name" => h.name.as_str(),
                    "arches" => h.arches.as_str(),
                    "capacity" => h.capacity,
                    "task_load" => st.host_load(h.id),
                    "ready" => true,
                    "enabled" => true,
                    "user_id" => 100 + h.id,
                    "comment" => Value::Nil,
                    "description" => Value::Nil,
                })
            })
            .collect(),
    ))
}

fn build(sim: &Arc<Sim>, caller: Caller, args: &Args) -> Res {
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

fn get_task_info(sim: &Arc<Sim>, args: &Args) -> Res {
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
fn list_tasks(sim: &Arc<Sim>, args: &Args) -> Res {
    let empty = Struct::new();
    let opts = match args.get(0, "opts") {
        Some(Value::Struct(m)) => m,
        None | Some(Value::Nil) => &empty,
        Some(_) => return Err(Fault::parameter("opts must be a struct")),
    };
    let query = match args.get(1, "queryOpts") {
        Some(Value::Struct(m)) => m,
        None | Some(Value::Nil) => &empty,
        Some(_) => return Err(Fault::parameter("queryOpts must be a struct")),
    };
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
    let mut tasks: Vec<&tasks::Task> = st
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
    if query.get("countOnly").is_some_and(is_truthy) {
        return Ok(Value::Int(tasks.len() as i64));
    }
    if query.get("order").and_then(Value::as_str) == Some("-id") {
        tasks.reverse();
    }
    let offset = query
        .get("offset")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0) as usize;
    let limit = query
        .get("limit")
        .and_then(Value::as_i64)
        .map(|l| l.max(0) as usize);
    Ok(Value::Array(
        tasks
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
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

fn get_task_result(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn cancel_task(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn create_tag(sim: &Arc<Sim>, args: &Args) -> Res {
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
    st.new_event();
    Ok(Value::Int(st.add_tag(&name, arches, parent)))
}

fn create_build_target(sim: &Arc<Sim>, args: &Args) -> Res {
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
    let id = st.targets.len() as i64 + 1;
    st.targets.push(crate::state::Target {
        id,
        name,
        build_tag,
        dest_tag,
    });
    Ok(Value::Nil)
}

fn current_groups(st: &State, tag_id: i64) -> Vec<Group> {
    st.groups_at(tag_id, st.event)
        .into_iter()
        .map(|(_, g)| g)
        .collect()
}

fn group_list_add(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn group_package_list_add(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn create_external_repo(sim: &Arc<Sim>, args: &Args) -> Res {
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

/// The external repo `info` names, or Koji's `No such repo` fault.
fn external_arg<'a>(st: &'a State, info: &Value) -> Result<&'a crate::state::ExternalRepo, Fault> {
    find_external(st, info).ok_or_else(|| generic(format!("No such repo: {}", py_str(info))))
}

/// Python's `str()` of a tag or repo argument (Koji's `%s` in messages).
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Koji's `getTagExternalRepos(tag_info, repo_info)`: an unknown tag or repo is a
/// fault; the associations come ordered by priority.
fn get_tag_external_repos(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn add_external_repo_to_tag(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn remove_external_repo_from_tag(sim: &Arc<Sim>, args: &Args) -> Res {
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

fn new_repo(sim: &Arc<Sim>, caller: Caller, args: &Args) -> Res {
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
    let mut task = tasks::Task::open(
        task_id,
        "newRepo",
        None,
        "noarch",
        vec![Value::String(tag_name)],
    );
    task.owner_id = caller.user_id.unwrap_or(1);
    let child_id = st.new_task_id();
    let mut child = tasks::Task::open(
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

/// The state of a build as Koji reports it (for scripting replies).
pub fn build_summary(b: &Build) -> Value {
    Value::Struct(xstruct! {
        "build_id" => b.id,
        "task_id" => b.task_id,
        "nvr" => b.source.nvr(),
        "state" => i64::from(b.state),
    })
}
