//! Scenario scripting: `sim.*` XML-RPC methods that change the simulated world.
//!
//! * `sim.importBuild({name, version, release, [epoch], [buildrequires], [binaries],
//!   [build_archs], [tag], [owner]})` → `{build_id, task_id, nvr, state}`: a new real build
//!   with its SRPM (requires = BuildRequires) and binaries, tagged into `tag` when given
//!   (publishing `buildsys.tag`). A binary is `{name, [arch], [epoch], [version],
//!   [release], [provides], [requires], [conflicts], [obsoletes], [suggests], [enhances],
//!   [recommends], [supplements], [files], [size], [location]}` (default: one binary named
//!   like the package), versioned like the build unless given. Each dependency list holds
//!   texts `name [op [epoch:]version[-release]]` (op `<`, `<=`, `=`, `>=`, `>`; a rich
//!   dependency is one text in parentheses); a trailing ` [pre]` marks a `pre="1"` entry
//!   (`"dpkg >= 1.15 [pre]"`, as for `Requires(pre):`). `provides` gets the implicit
//!   `name = epoch:version-release` first unless it holds it. `files` are paths (those
//!   createrepo_c puts in primary.xml go there, all into filelists.xml); `size` is
//!   `{package, installed, archive}` (bytes, default 0); `location` the `<location href>`
//!   (default `Packages/<name>-<version>-<release>.<arch>.rpm`). Sections go into
//!   primary.xml in createrepo_c's order (provides, requires, conflicts, obsoletes,
//!   suggests, enhances, recommends, supplements, then files).
//! * `sim.tagBuild(tag, build)` / `sim.untagBuild(tag, build)` → event id (publishes
//!   `buildsys.tag` / `buildsys.untag`); `build` is an id or an NVR.
//! * `sim.regenRepo([tag])` → the new READY repo id (default: the collection's build tag);
//!   older READY repos become EXPIRED; publishes `buildsys.repo.done`.
//! * `sim.setFailureRate(p)`, `sim.setInfraFailureRate(p)`, `sim.setBuildTime(seconds)`.
//! * `sim.setPackageBlocked(tag, package, blocked)`.
//! * `sim.loseBuildReplies(n)`: the next `n` `build` calls create their task and then
//!   answer HTTP 502, as if a proxy lost the reply (a retry with the same call number
//!   then gets Koji's `RetryError`).
//! * `sim.setCallDelay(method, seconds)`: every later call of `method` waits that long
//!   before it runs (a slow hub).
//! * `sim.failNext(method, count)`: the next `count` calls of `method` (also inside a
//!   `multiCall`) fail with a `GenericError` and change nothing (a hub refusing a call).
//! * `sim.expireSessions()`: every open session expires; its next call gets `AuthExpired`
//!   (a client must log in again).
//! * `sim.messages()` → the recently published messages `{topic, body, schema, severity}`.

use std::sync::Arc;

use koschei_koji::xmlrpc::{Fault, Value};
use koschei_koji::xstruct;

use crate::api::{build_summary, find_tag, set_tagged, Caller};
use crate::args::Args;
use crate::new_binary::{Dependencies, NewBinary, PackageSize};
use crate::rpmmd::Dep;
use crate::seed::SourcePackage;
use crate::sim::Sim;

type Res = Result<Value, Fault>;

/// Whether `method` is a scripting method.
pub fn is_scripting(method: &str) -> bool {
    method.starts_with("sim.")
}

/// Runs a scripting method.
pub async fn call(sim: &Arc<Sim>, caller: Caller, method: &str, args: &Args) -> Res {
    match method {
        "sim.importBuild" => import_build(sim, args),
        "sim.tagBuild" => set_tagged(sim, caller, args, true),
        "sim.untagBuild" => set_tagged(sim, caller, args, false),
        "sim.regenRepo" => {
            let tag_id = {
                let st = sim.lock();
                let default = Value::String(format!("{}-build", sim.options.collection));
                let info = args.get(0, "tag").unwrap_or(&default);
                find_tag(&st, info)
                    .ok_or_else(|| Fault::generic(format!("No such tagInfo: {info:?}")))?
                    .id
            };
            sim.regen_repo(tag_id)
                .await
                .map(Value::Int)
                .map_err(|e| Fault::generic(e.to_string()))
        }
        "sim.setFailureRate" => set_rate(sim, args, |st, p| st.failure_rate = p),
        "sim.setInfraFailureRate" => set_rate(sim, args, |st, p| st.infra_failure_rate = p),
        "sim.setBuildTime" => {
            let t = args
                .float(0, "seconds")?
                .ok_or_else(|| Fault::parameter("seconds required"))?;
            sim.lock().build_time = t.max(0.0);
            Ok(Value::Nil)
        }
        "sim.setPackageBlocked" => set_blocked(sim, args),
        "sim.loseBuildReplies" => {
            let n = args
                .int(0, "count")?
                .ok_or_else(|| Fault::parameter("count required"))?;
            sim.lock().lost_build_replies = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
            Ok(Value::Nil)
        }
        "sim.setCallDelay" => {
            let method = args
                .str(0, "method")?
                .ok_or_else(|| Fault::parameter("method required"))?;
            let seconds = args.float(1, "seconds")?.unwrap_or(0.0).max(0.0);
            sim.lock().call_delays.insert(method.to_owned(), seconds);
            Ok(Value::Nil)
        }
        "sim.failNext" => {
            let method = args
                .str(0, "method")?
                .ok_or_else(|| Fault::parameter("method required"))?;
            let count = args.int(1, "count")?.unwrap_or(1).max(0);
            sim.lock()
                .failing_calls
                .insert(method.to_owned(), u32::try_from(count).unwrap_or(u32::MAX));
            Ok(Value::Nil)
        }
        "sim.expireSessions" => {
            let mut st = sim.lock();
            let ids: Vec<i64> = st.sessions.keys().copied().collect();
            st.expired_sessions.extend(ids);
            Ok(Value::Nil)
        }
        "sim.messages" => Ok(Value::Array(
            sim.recent_messages()
                .into_iter()
                .map(|m| {
                    Value::Struct(xstruct! {
                        "topic" => m.routing_key(),
                        "body" => Value::from_json(m.body),
                        "schema" => m.schema,
                        "severity" => m.severity,
                    })
                })
                .collect(),
        )),
        _ => Err(Fault::generic(format!("Invalid method: {method}"))),
    }
}

fn set_rate(sim: &Arc<Sim>, args: &Args, set: impl FnOnce(&mut crate::state::State, f64)) -> Res {
    let p = args
        .float(0, "rate")?
        .ok_or_else(|| Fault::parameter("rate required"))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(Fault::parameter("rate must be within [0, 1]"));
    }
    set(&mut sim.lock(), p);
    Ok(Value::Nil)
}

fn set_blocked(sim: &Arc<Sim>, args: &Args) -> Res {
    let mut st = sim.lock();
    let tag_id = find_tag(&st, args.req(0, "tag")?)
        .ok_or_else(|| Fault::generic("No such tag"))?
        .id;
    let name = args
        .str(1, "package")?
        .ok_or_else(|| Fault::parameter("package required"))?
        .to_owned();
    let blocked = args.flag(2, "blocked", true);
    let package_id = st.package_id(&name);
    let owner = st.add_user(crate::sim::RELENG);
    st.package_lists
        .entry(tag_id)
        .or_default()
        .entry(package_id)
        .or_insert(crate::state::PackageListing {
            owner_id: owner,
            blocked,
        })
        .blocked = blocked;
    st.new_event();
    Ok(Value::Nil)
}

fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, Fault> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Fault::parameter(format!("{what}: expected strings")))
            })
            .collect(),
        Some(_) => Err(Fault::parameter(format!("{what}: expected a list"))),
    }
}

fn deps(v: Option<&Value>, what: &str) -> Result<Vec<Dep>, Fault> {
    strings(v, what)?
        .iter()
        .map(|s| Dep::parse(s).map_err(|e| Fault::parameter(e.to_string())))
        .collect()
}

/// A binary's `size` struct (`{package, installed, archive}`, each default 0).
fn package_size(v: Option<&Value>) -> Result<PackageSize, Fault> {
    let Some(v) = v else {
        return Ok(PackageSize::default());
    };
    if v.as_struct().is_none() {
        return Err(Fault::parameter("size: expected a struct"));
    }
    let bytes = |k: &str| -> Result<u64, Fault> {
        match v.get(k).filter(|x| !x.is_nil()) {
            None => Ok(0),
            Some(x) => x
                .as_i64()
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| Fault::parameter(format!("size.{k}: expected a count of bytes"))),
        }
    };
    Ok(PackageSize {
        package: bytes("package")?,
        installed: bytes("installed")?,
        archive: bytes("archive")?,
    })
}

/// A binary's own version or release (a source may build binaries versioned apart from
/// it), else the build's.
fn binary_text(v: Option<&Value>, build: &str) -> Result<String, Fault> {
    match v {
        None => Ok(build.to_owned()),
        Some(v) => v
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Fault::parameter("binary version/release: expected a string")),
    }
}

fn import_build(sim: &Arc<Sim>, args: &Args) -> Res {
    let spec = args.req(0, "spec")?;
    let field = |k: &str| spec.get(k).filter(|v| !v.is_nil());
    let text = |k: &str| -> Result<String, Fault> {
        field(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Fault::parameter(format!("importBuild: {k} required")))
    };
    let (name, version, release) = (text("name")?, text("version")?, text("release")?);
    let epoch = field("epoch").and_then(Value::as_i64).filter(|e| *e != 0);
    let source = SourcePackage {
        name: name.clone(),
        epoch,
        version: version.clone(),
        release: release.clone(),
        requires: deps(field("buildrequires"), "buildrequires")?,
        build_archs: strings(field("build_archs"), "build_archs")?,
        exclude_arch: Vec::new(),
        exclusive_arch: Vec::new(),
    };
    let sourcerpm = format!("{}.src.rpm", source.nvr());
    let default_binary = Value::Array(vec![Value::Struct(xstruct! {"name" => name.as_str()})]);
    let specs = field("binaries").unwrap_or(&default_binary);
    let binaries = specs
        .as_array()
        .ok_or_else(|| Fault::parameter("binaries: expected a list"))?
        .iter()
        .map(|b| {
            let get = |k: &str| b.get(k).filter(|v| !v.is_nil());
            Ok(NewBinary {
                name: get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Fault::parameter("binary without name"))?
                    .to_owned(),
                arch: get("arch")
                    .and_then(Value::as_str)
                    .unwrap_or("x86_64")
                    .to_owned(),
                epoch: get("epoch").and_then(Value::as_i64).or(epoch).unwrap_or(0),
                version: binary_text(get("version"), &version)?,
                release: binary_text(get("release"), &release)?,
                sourcerpm: sourcerpm.clone(),
                deps: Dependencies {
                    provides: deps(get("provides"), "provides")?,
                    requires: deps(get("requires"), "requires")?,
                    conflicts: deps(get("conflicts"), "conflicts")?,
                    obsoletes: deps(get("obsoletes"), "obsoletes")?,
                    suggests: deps(get("suggests"), "suggests")?,
                    enhances: deps(get("enhances"), "enhances")?,
                    recommends: deps(get("recommends"), "recommends")?,
                    supplements: deps(get("supplements"), "supplements")?,
                },
                files: strings(get("files"), "files")?,
                size: package_size(get("size"))?,
                location: get("location")
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| Fault::parameter("location: expected a string"))
                    })
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, Fault>>()?;
    let breaks = strings(field("breaks"), "breaks")?;
    let (build_id, summary) = {
        let mut st = sim.lock();
        if !breaks.is_empty() {
            for b in &binaries {
                st.breaks.insert(
                    format!("{}-{}-{}", b.name, b.version, b.release),
                    breaks.clone(),
                );
            }
        }
        if st.build_ids.contains_key(&source.nvr()) {
            return Err(Fault::generic(format!(
                "Build already exists: {}",
                source.nvr()
            )));
        }
        let owner_name = field("owner")
            .and_then(Value::as_str)
            .unwrap_or(crate::sim::RELENG)
            .to_owned();
        let owner = st.add_user(&owner_name);
        let (build_id, _task) = sim.import_build(&mut st, source, binaries, owner);
        (
            build_id,
            st.build(build_id).map(build_summary).unwrap_or(Value::Nil),
        )
    };
    if let Some(tag) = field("tag") {
        let tag_args = Args::new(vec![tag.clone(), Value::Int(build_id)]);
        set_tagged(sim, Caller::default(), &tag_args, true)?;
    }
    Ok(summary)
}
