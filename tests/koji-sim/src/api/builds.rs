//! Builds and their rpms: `getBuild`, `listRPMs`, `getRPMDeps`, `getRPMHeaders` (of built
//! rpms and of rpms a task produced).

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, Struct, Value};
use koschei_koji::xstruct;

use super::values::{arch_filter, generic, py_repr, Res};
use crate::args::Args;
use crate::new_binary::NewBinary;
use crate::rpmmd::{Dep, SENSE_EQUAL};
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

/// `getRPMHeaders(rpmID=None, taskID=None, filepath=None, headers=None, strict=False)`:
/// the headers of a built rpm, or of an rpm a task produced (`taskID` and `filepath`,
/// its file name in the task's output); an empty struct when there is no such rpm.
pub(super) fn get_rpm_headers(sim: &Arc<Sim>, args: &Args) -> Res {
    let st = sim.lock();
    let all = match (args.get(0, "rpmID"), args.int(1, "taskID")?) {
        (Some(info), _) => find_rpm(&st, info).map(rpm_headers),
        (None, Some(task_id)) => {
            let file = args
                .str(2, "filepath")?
                .ok_or_else(|| Fault::parameter("filepath required with taskID"))?;
            let file = file.rsplit('/').next().unwrap_or(file);
            st.tasks
                .get(&task_id)
                .and_then(|t| t.outputs.iter().find(|(name, _)| name == file))
                .map(|(_, binary)| {
                    let mut all = Struct::new();
                    binary_headers(&mut all, binary);
                    all
                })
        }
        (None, None) => return Err(Fault::parameter("rpmID or taskID required")),
    };
    let Some(all) = all else {
        return if args.flag(4, "strict", false) {
            Err(generic("No such rpm"))
        } else {
            Ok(Value::Struct(Struct::new()))
        };
    };
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

/// The headers of a built rpm, by upper-case tag name.
fn rpm_headers(rpm: &Rpm) -> Struct {
    let n = rpm.nevra();
    let strings = |v: &[String]| Value::Array(v.iter().map(Value::str).collect());
    let mut all = xstruct! {
        "NAME" => n.name,
        "VERSION" => n.version,
        "RELEASE" => n.release,
        "EPOCH" => n.epoch,
        "ARCH" => n.arch,
    };
    match &rpm.content {
        RpmContent::Source(s) => {
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
        RpmContent::NewBinary(binary, _) => binary_headers(&mut all, binary),
        RpmContent::SeedBinary(_) => {}
    }
    all
}

/// A binary's identity, source rpm, installed size and dependency headers
/// (`PROVIDENAME`, `PROVIDEFLAGS`, `PROVIDEVERSION`, … as rpm keeps them: the provides
/// start with the package's own `name = [epoch:]version-release`).
fn binary_headers(all: &mut Struct, b: &NewBinary) {
    let epoch = (b.epoch != 0).then_some(b.epoch);
    let evr = match epoch {
        Some(e) => format!("{e}:{}-{}", b.version, b.release),
        None => format!("{}-{}", b.version, b.release),
    };
    all.insert("NAME".into(), Value::str(&b.name));
    all.insert("VERSION".into(), Value::str(&b.version));
    all.insert("RELEASE".into(), Value::str(&b.release));
    all.insert("EPOCH".into(), epoch.map_or(Value::Nil, Value::Int));
    all.insert("ARCH".into(), Value::str(&b.arch));
    all.insert("SOURCERPM".into(), Value::str(&b.sourcerpm));
    all.insert("SIZE".into(), Value::Int(b.size.installed as i64));
    let own = Dep {
        name: b.name.as_str().into(),
        flags: SENSE_EQUAL,
        version: evr.into(),
    };
    let provides: Vec<&Dep> = std::iter::once(&own)
        .chain(b.deps.provides.iter().filter(|d| !b.is_self_provide(d)))
        .collect();
    let requires: Vec<&Dep> = b.deps.requires.iter().collect();
    let conflicts: Vec<&Dep> = b.deps.conflicts.iter().collect();
    let obsoletes: Vec<&Dep> = b.deps.obsoletes.iter().collect();
    for (tag, deps) in [
        ("PROVIDE", provides),
        ("REQUIRE", requires),
        ("CONFLICT", conflicts),
        ("OBSOLETE", obsoletes),
    ] {
        let column = |f: fn(&Dep) -> Value| Value::Array(deps.iter().map(|d| f(d)).collect());
        all.insert(
            format!("{tag}NAME"),
            column(|d| Value::str(d.name.as_ref())),
        );
        all.insert(format!("{tag}FLAGS"), column(|d| Value::Int(d.flags)));
        all.insert(
            format!("{tag}VERSION"),
            column(|d| Value::str(d.version.as_ref())),
        );
    }
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
