//! Builds and their rpms: `getBuild`, `listRPMs`, `getRPMDeps`, `getRPMHeaders`.

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, Struct, Value};
use koschei_koji::xstruct;

use super::values::{arch_filter, generic, py_repr, Res};
use crate::args::Args;
use crate::sim::Sim;
use crate::state::{Build, Rpm, RpmContent, State, Tag};
use crate::time::koji_time;

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

pub(super) fn build_info(st: &State, b: &Build, tag: Option<&Tag>) -> Value {
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

/// Koji's `DEP_*` constant for an rpm-md dependency section.
fn koji_dep_type(section: &str) -> i64 {
    match section {
        "requires" => 0,
        "provides" => 1,
        "obsoletes" => 2,
        "conflicts" => 3,
        "suggests" => 4,
        "enhances" => 5,
        "supplements" => 6,
        _ => 7, // recommends
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

pub(super) fn list_rpms(sim: &Arc<Sim>, args: &Args) -> Res {
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

pub(super) fn get_rpm_deps(sim: &Arc<Sim>, args: &Args) -> Res {
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
            for (section, deps) in b.deps.sections() {
                let t = koji_dep_type(section);
                if wanted(t) {
                    out.extend(dep_values(deps, t));
                }
            }
        }
        RpmContent::SeedBinary(_) => {}
    }
    Ok(Value::Array(out))
}

pub(super) fn get_rpm_headers(sim: &Arc<Sim>, args: &Args) -> Res {
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

/// The state of a build as Koji reports it (for scripting replies).
pub fn build_summary(b: &Build) -> Value {
    Value::Struct(xstruct! {
        "build_id" => b.id,
        "task_id" => b.task_id,
        "nvr" => b.source.nvr(),
        "state" => i64::from(b.state),
    })
}

/// `getBuild(buildInfo)`: the build's info, or nil.
pub(super) fn get_build(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let info = args.req(0, "buildInfo")?;
    Ok(find_build(&st, info).map_or(Value::Nil, |b| build_info(&st, b, None)))
}
