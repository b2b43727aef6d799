//! The binary rpms a build task produced, with the headers installing them needs: each
//! closed `buildArch` child's files (`listTaskOutput`), and of each binary rpm among them
//! `getRPMHeaders(taskID=…, filepath=…, headers=…)`. Koji keeps scratch builds' files
//! for a limited time; a task whose files are gone has no binaries.

use serde::Deserialize;
use serde_json::Value as Json;

use crate::client::{convert, KojiClient};
use crate::error::{KojiError, KojiResult};
use crate::model::{RpmDep, TaskState};
use crate::xmlrpc::{ConversionError, Struct, Value};
use crate::xstruct;

/// The headers asked for each binary.
pub const BINARY_HEADERS: [&str; 17] = [
    "name",
    "epoch",
    "version",
    "release",
    "arch",
    "providename",
    "provideflags",
    "provideversion",
    "requirename",
    "requireflags",
    "requireversion",
    "conflictname",
    "conflictflags",
    "conflictversion",
    "obsoletename",
    "obsoleteflags",
    "obsoleteversion",
];

/// A binary rpm a task produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskBinary {
    /// The `buildArch` task that produced it.
    pub task_id: i64,
    /// Its file name in the task's output.
    pub file: String,
    pub name: String,
    pub epoch: Option<i64>,
    pub version: String,
    pub release: String,
    pub arch: String,
    pub provides: Vec<RpmDep>,
    pub requires: Vec<RpmDep>,
    pub conflicts: Vec<RpmDep>,
    pub obsoletes: Vec<RpmDep>,
}

/// `getRPMHeaders`' answer for [`BINARY_HEADERS`] (absent array tags come as nil).
#[derive(Debug, Deserialize)]
struct RawHeaders {
    name: Option<String>,
    epoch: Option<i64>,
    version: Option<String>,
    release: Option<String>,
    arch: Option<String>,
    #[serde(flatten)]
    deps: std::collections::HashMap<String, Json>,
}

impl KojiClient {
    /// `listTaskOutput(task_id)`: the names of a task's files.
    pub async fn list_task_output(&self, task_id: i64) -> KojiResult<Vec<String>> {
        self.call_as("listTaskOutput", vec![task_id.into()], Struct::new())
            .await
    }

    /// The binary rpms the build task `task_id` produced (source rpms left out), in the
    /// order of its arch tasks and their files.
    pub async fn task_binaries(&self, task_id: i64) -> KojiResult<Vec<TaskBinary>> {
        let mut binaries = Vec::new();
        for child in self.get_task_children(task_id, false).await? {
            if child.method != "buildArch" || child.state != TaskState::Closed {
                continue;
            }
            for file in self.list_task_output(child.id).await? {
                if !file.ends_with(".rpm") || file.ends_with(".src.rpm") {
                    continue;
                }
                let kwargs = xstruct! {
                    "taskID" => child.id,
                    "filepath" => file.as_str(),
                    "headers" => BINARY_HEADERS.iter().map(|h| Value::str(*h)).collect::<Vec<_>>(),
                };
                let value = self.call_kw("getRPMHeaders", Vec::new(), kwargs).await?;
                let raw: RawHeaders = convert("getRPMHeaders", value)?;
                binaries.push(binary(child.id, file, raw)?);
            }
        }
        Ok(binaries)
    }
}

fn binary(task_id: i64, file: String, mut raw: RawHeaders) -> KojiResult<TaskBinary> {
    let unexpected = |what: String| KojiError::Unexpected {
        method: "getRPMHeaders".into(),
        source: ConversionError::new(format!("{file}: {what}")),
    };
    let (Some(name), Some(version), Some(release), Some(arch)) = (
        raw.name.take(),
        raw.version.take(),
        raw.release.take(),
        raw.arch.take(),
    ) else {
        return Err(unexpected("no name, version, release or arch".into()));
    };
    let mut deps = |tag: &str| -> KojiResult<Vec<RpmDep>> {
        let mut column = |suffix: &str| -> Vec<Json> {
            match raw.deps.remove(&format!("{tag}{suffix}")) {
                None | Some(Json::Null) => Vec::new(),
                Some(Json::Array(items)) => items,
                // rpm gives a single-entry array tag as a scalar in some bindings
                Some(one) => vec![one],
            }
        };
        let (names, flags, versions) = (column("name"), column("flags"), column("version"));
        if names.len() != flags.len() || names.len() != versions.len() {
            return Err(unexpected(format!(
                "{tag} name, flags and version lengths differ"
            )));
        }
        names
            .into_iter()
            .zip(flags)
            .zip(versions)
            .map(|((n, f), v)| match (n.as_str(), f.as_i64(), v.as_str()) {
                (Some(n), Some(f), Some(v)) => Ok(RpmDep {
                    name: n.to_owned(),
                    version: v.to_owned(),
                    flags: f,
                    dep_type: 0,
                }),
                _ => Err(unexpected(format!(
                    "a {tag} entry is not (string, int, string)"
                ))),
            })
            .collect()
    };
    Ok(TaskBinary {
        task_id,
        provides: deps("provide")?,
        requires: deps("require")?,
        conflicts: deps("conflict")?,
        obsoletes: deps("obsolete")?,
        file,
        name,
        epoch: raw.epoch,
        version,
        release,
        arch,
    })
}
