//! Typed wrappers for every Koji call Koschei makes (the calls of the original's
//! `koschei/backend/koji_util.py` and its services).
//!
//! Tags, builds and repos are passed as `impl Into<Value>`, so either a name (`&str`) or an
//! id (`i64`) works, as with Koji itself.

use serde_json::Value as Json;

use super::{convert, KojiClient};
use crate::error::{KojiError, KojiResult};
use crate::model::{
    ArchHeaders, BuildInfo, BuildTarget, Channel, DepType, ExternalRepo, Host, Nvra, PackageEntry,
    RepoInfo, RepoState, RpmDep, RpmInfo, TagExternalRepo, TagGroup, TagInfo, TaskInfo,
};
use crate::multicall::Call;
use crate::xmlrpc::{Struct, Value};
use crate::xstruct;

/// Options of `listTagged`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListTaggedOpts {
    /// State of the tag at this event (current state when `None`).
    pub event: Option<i64>,
    /// Follow tag inheritance.
    pub inherit: bool,
    /// Only the latest build of each package.
    pub latest: bool,
    /// Only builds of this package.
    pub package: Option<String>,
}

/// Options of a `build` call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildOpts {
    /// Scratch build (Koschei always sets it).
    pub scratch: bool,
    /// Space-separated arch list (`arch_override`).
    pub arch_override: Option<String>,
    /// Build in this repo instead of the target's latest one.
    pub repo_id: Option<i64>,
    /// Further options passed through (`koji_config.build_opts`).
    pub extra: Struct,
}

impl BuildOpts {
    /// The options struct sent to the hub.
    pub fn to_value(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("scratch".into(), Value::Bool(self.scratch));
        if let Some(a) = &self.arch_override {
            m.insert("arch_override".into(), Value::str(a));
        }
        if let Some(r) = self.repo_id {
            m.insert("repo_id".into(), Value::Int(r));
        }
        Value::Struct(m)
    }
}

fn nvra_value(nvra: &Nvra) -> Value {
    Value::Struct(xstruct! {
        "name" => nvra.name.as_str(),
        "version" => nvra.version.as_str(),
        "release" => nvra.release.as_str(),
        "arch" => nvra.arch.as_str(),
    })
}

/// Headers `getRPMHeaders` is asked for to compute build arches ([`crate::srpm_arches`]).
pub const ARCH_HEADERS: [&str; 3] = ["BUILDARCHS", "EXCLUDEARCH", "EXCLUSIVEARCH"];

impl KojiClient {
    /// `build(src, target, opts, priority=…)`: submits a build; returns the task id.
    pub async fn build(
        &self,
        src: &str,
        target: Option<&str>,
        opts: &BuildOpts,
        priority: Option<i64>,
    ) -> KojiResult<i64> {
        let mut kwargs = Struct::new();
        if let Some(p) = priority {
            kwargs.insert("priority".into(), Value::Int(p));
        }
        let args = vec![Value::str(src), target.into(), opts.to_value()];
        self.call_as("build", args, kwargs).await
    }

    /// `cancelTask(task_id)`.
    pub async fn cancel_task(&self, task_id: i64) -> KojiResult<()> {
        self.call("cancelTask", vec![task_id.into()])
            .await
            .map(drop)
    }

    /// `getTaskResult(task_id)`: the result of a finished task, or the fault it failed with.
    pub async fn get_task_result(&self, task_id: i64) -> KojiResult<Value> {
        self.call("getTaskResult", vec![task_id.into()]).await
    }

    /// `getTaskInfo(task_id, request=…)`; `None` for an unknown task.
    pub async fn get_task_info(&self, task_id: i64, request: bool) -> KojiResult<Option<TaskInfo>> {
        self.call_as("getTaskInfo", vec![task_id.into()], task_kwargs(request))
            .await
    }

    /// `getLoggedInUser()["id"]`: the user this session acts as; `None` when anonymous.
    pub async fn logged_in_user_id(&self) -> KojiResult<Option<i64>> {
        let user = self.call("getLoggedInUser", Vec::new()).await?;
        Ok(user.get("id").and_then(Value::as_i64))
    }

    /// `listTasks({method, owner, parent: None, createdAfter, decode: True},
    /// {order: "id"})`: the top-level tasks of one method a user created after a
    /// timestamp, with their decoded requests.
    pub async fn list_top_tasks(
        &self,
        method: &str,
        owner: i64,
        created_after: f64,
    ) -> KojiResult<Vec<TaskInfo>> {
        let opts = xstruct! {
            "method" => method,
            "owner" => owner,
            "parent" => Value::Nil,
            "createdAfter" => created_after,
            "decode" => true,
        };
        let query = xstruct! {"order" => "id"};
        self.call_as(
            "listTasks",
            vec![Value::Struct(opts), Value::Struct(query)],
            Struct::new(),
        )
        .await
    }

    /// `getTaskChildren(task_id, request=…)`.
    pub async fn get_task_children(
        &self,
        task_id: i64,
        request: bool,
    ) -> KojiResult<Vec<TaskInfo>> {
        self.call_as(
            "getTaskChildren",
            vec![task_id.into()],
            task_kwargs(request),
        )
        .await
    }

    /// `getTaskInfo` for many tasks in one multicall (chunked); `None` for unknown ones.
    pub async fn get_task_infos(
        &self,
        task_ids: &[i64],
    ) -> KojiResult<Vec<KojiResult<Option<TaskInfo>>>> {
        let calls: Vec<Call> = task_ids
            .iter()
            .map(|id| Call::new("getTaskInfo", vec![(*id).into()]))
            .collect();
        self.multicall_as(&calls).await
    }

    /// `getTaskChildren(id, request=True)` for many tasks in one multicall (chunked).
    pub async fn get_tasks_children(
        &self,
        task_ids: &[i64],
    ) -> KojiResult<Vec<KojiResult<Vec<TaskInfo>>>> {
        let calls: Vec<Call> = task_ids
            .iter()
            .map(|id| Call::with_kwargs("getTaskChildren", vec![(*id).into()], task_kwargs(true)))
            .collect();
        self.multicall_as(&calls).await
    }

    /// `listTagged(tag, event, inherit=, latest=, package=)`.
    pub async fn list_tagged(
        &self,
        tag: impl Into<Value>,
        opts: &ListTaggedOpts,
    ) -> KojiResult<Vec<BuildInfo>> {
        let mut kwargs = xstruct! {"inherit" => opts.inherit, "latest" => opts.latest};
        if let Some(e) = opts.event {
            kwargs.insert("event".into(), Value::Int(e));
        }
        if let Some(p) = &opts.package {
            kwargs.insert("package".into(), Value::str(p));
        }
        self.call_as("listTagged", vec![tag.into()], kwargs).await
    }

    /// `listRPMs(buildID=…, arches=…)`.
    pub async fn list_rpms(&self, build_id: i64, arches: Option<&str>) -> KojiResult<Vec<RpmInfo>> {
        let mut kwargs = xstruct! {"buildID" => build_id};
        if let Some(a) = arches {
            kwargs.insert("arches".into(), Value::str(a));
        }
        self.call_as("listRPMs", Vec::new(), kwargs).await
    }

    /// `listPackages(tagID=tag, inherited=…)`.
    pub async fn list_packages(
        &self,
        tag: impl Into<Value>,
        inherited: bool,
    ) -> KojiResult<Vec<PackageEntry>> {
        let kwargs = xstruct! {"tagID" => tag.into(), "inherited" => inherited};
        self.call_as("listPackages", Vec::new(), kwargs).await
    }

    /// `getRPMHeaders(rpmID=nvra, headers=[…])`; an empty map when Koji knows no such rpm.
    pub async fn get_rpm_headers(
        &self,
        rpm: &Nvra,
        headers: &[&str],
    ) -> KojiResult<serde_json::Map<String, Json>> {
        let kwargs = xstruct! {
            "rpmID" => nvra_value(rpm),
            "headers" => headers.iter().map(|h| Value::str(*h)).collect::<Vec<_>>(),
        };
        let value = self.call_kw("getRPMHeaders", Vec::new(), kwargs).await?;
        if value.is_nil() {
            return Ok(serde_json::Map::new());
        }
        convert("getRPMHeaders", value)
    }

    /// The BUILDARCHS / EXCLUDEARCH / EXCLUSIVEARCH headers of an SRPM; `None` when Koji
    /// returns nothing (no such SRPM).
    pub async fn get_arch_headers(&self, srpm: &Nvra) -> KojiResult<Option<ArchHeaders>> {
        let headers = self.get_rpm_headers(srpm, &ARCH_HEADERS).await?;
        if headers.is_empty() {
            return Ok(None);
        }
        convert("getRPMHeaders", Value::from_json(Json::Object(headers))).map(Some)
    }

    /// `getBuildConfig(tag)`.
    pub async fn get_build_config(&self, tag: impl Into<Value>) -> KojiResult<TagInfo> {
        self.call_as("getBuildConfig", vec![tag.into()], Struct::new())
            .await
    }

    /// `getChannel(name)`.
    pub async fn get_channel(&self, channel: impl Into<Value>) -> KojiResult<Option<Channel>> {
        self.call_as("getChannel", vec![channel.into()], Struct::new())
            .await
    }

    /// `listHosts(arches, channel_id, enabled=…)`.
    pub async fn list_hosts(
        &self,
        arches: &[String],
        channel_id: Option<i64>,
        enabled: bool,
    ) -> KojiResult<Vec<Host>> {
        let arches: Vec<Value> = arches.iter().map(Value::str).collect();
        let args = vec![Value::Array(arches), channel_id.into()];
        self.call_as("listHosts", args, xstruct! {"enabled" => enabled})
            .await
    }

    /// `getRepo(tag, state=…)`: the tag's latest repo in that state.
    pub async fn get_repo(
        &self,
        tag: impl Into<Value>,
        state: RepoState,
    ) -> KojiResult<Option<RepoInfo>> {
        let kwargs = xstruct! {"state" => i64::from(state)};
        self.call_as("getRepo", vec![tag.into()], kwargs).await
    }

    /// `repoInfo(repo_id)`; `None` for an unknown repo.
    pub async fn repo_info(&self, repo_id: i64) -> KojiResult<Option<RepoInfo>> {
        self.call_as("repoInfo", vec![repo_id.into()], Struct::new())
            .await
    }

    /// `getTagGroups(tag, event=…)`: comps groups as of an event.
    pub async fn get_tag_groups(
        &self,
        tag: impl Into<Value>,
        event: Option<i64>,
    ) -> KojiResult<Vec<TagGroup>> {
        let mut kwargs = Struct::new();
        if let Some(e) = event {
            kwargs.insert("event".into(), Value::Int(e));
        }
        self.call_as("getTagGroups", vec![tag.into()], kwargs).await
    }

    /// `getRPMDeps(rpm, depType)`.
    pub async fn get_rpm_deps(&self, rpm: &Nvra, dep_type: DepType) -> KojiResult<Vec<RpmDep>> {
        let args = vec![nvra_value(rpm), Value::Int(dep_type as i64)];
        self.call_as("getRPMDeps", args, Struct::new()).await
    }

    /// `getRPMDeps(rpm, DEP_REQUIRE)` for many rpms in one multicall (chunked).
    pub async fn get_rpm_requires_multi(
        &self,
        rpms: &[Nvra],
    ) -> KojiResult<Vec<KojiResult<Vec<RpmDep>>>> {
        let calls: Vec<Call> = rpms
            .iter()
            .map(|r| {
                Call::new(
                    "getRPMDeps",
                    vec![nvra_value(r), Value::Int(DepType::Require as i64)],
                )
            })
            .collect();
        self.multicall_as(&calls).await
    }

    /// `getBuildTarget(name)`; `None` for an unknown target.
    pub async fn get_build_target(
        &self,
        target: impl Into<Value>,
    ) -> KojiResult<Option<BuildTarget>> {
        self.call_as("getBuildTarget", vec![target.into()], Struct::new())
            .await
    }

    /// `getTag(tag)`; `None` for an unknown tag.
    pub async fn get_tag(&self, tag: impl Into<Value>) -> KojiResult<Option<TagInfo>> {
        self.call_as("getTag", vec![tag.into()], Struct::new())
            .await
    }

    /// `createTag(name, parent=…, arches=…)`; returns the new tag id.
    pub async fn create_tag(
        &self,
        name: &str,
        parent: Option<&str>,
        arches: Option<&str>,
    ) -> KojiResult<i64> {
        let mut kwargs = Struct::new();
        if let Some(p) = parent {
            kwargs.insert("parent".into(), Value::str(p));
        }
        if let Some(a) = arches {
            kwargs.insert("arches".into(), Value::str(a));
        }
        self.call_as("createTag", vec![Value::str(name)], kwargs)
            .await
    }

    /// `createBuildTarget(name, build_tag, dest_tag)`.
    pub async fn create_build_target(
        &self,
        name: &str,
        build_tag: &str,
        dest_tag: &str,
    ) -> KojiResult<()> {
        let args = vec![
            Value::str(name),
            Value::str(build_tag),
            Value::str(dest_tag),
        ];
        self.call("createBuildTarget", args).await.map(drop)
    }

    /// `groupListAdd(tag, group)`.
    pub async fn group_list_add(&self, tag: impl Into<Value>, group: &str) -> KojiResult<()> {
        self.call("groupListAdd", vec![tag.into(), Value::str(group)])
            .await
            .map(drop)
    }

    /// `groupPackageListAdd(tag, group, package, type=…, block=…)`.
    pub async fn group_package_list_add(
        &self,
        tag: impl Into<Value>,
        group: &str,
        package: &str,
        kind: &str,
        blocked: bool,
    ) -> KojiResult<()> {
        let args = vec![tag.into(), Value::str(group), Value::str(package)];
        self.call_kw(
            "groupPackageListAdd",
            args,
            group_package_kwargs(kind, blocked),
        )
        .await
        .map(drop)
    }

    /// Copies groups (another tag's `getTagGroups`) onto `tag` in one multicall (chunked):
    /// `groupListAdd` of each group followed by `groupPackageListAdd` of each of its
    /// packages. One result per call, in that order.
    pub async fn add_tag_groups(
        &self,
        tag: &str,
        groups: &[TagGroup],
    ) -> KojiResult<Vec<KojiResult<()>>> {
        let mut calls = Vec::new();
        for group in groups {
            let args = vec![Value::str(tag), Value::str(&group.name)];
            calls.push(Call::new("groupListAdd", args));
            for p in &group.packagelist {
                let args = vec![
                    Value::str(tag),
                    Value::str(&group.name),
                    Value::str(&p.package),
                ];
                let kind = p.kind.as_deref().unwrap_or("mandatory");
                let kwargs = group_package_kwargs(kind, p.blocked);
                calls.push(Call::with_kwargs("groupPackageListAdd", args, kwargs));
            }
        }
        let results = self.multicall(&calls).await?;
        Ok(results
            .into_iter()
            .zip(&calls)
            .map(|(r, call)| {
                r.map(drop).map_err(|fault| KojiError::Fault {
                    method: call.method.clone(),
                    fault,
                })
            })
            .collect())
    }

    /// `getTagExternalRepos(tag_info=tag)`.
    pub async fn get_tag_external_repos(
        &self,
        tag: impl Into<Value>,
    ) -> KojiResult<Vec<TagExternalRepo>> {
        self.call_as("getTagExternalRepos", vec![tag.into()], Struct::new())
            .await
    }

    /// `removeExternalRepoFromTag(tag, repo)`.
    pub async fn remove_external_repo_from_tag(
        &self,
        tag: impl Into<Value>,
        repo: impl Into<Value>,
    ) -> KojiResult<()> {
        self.call("removeExternalRepoFromTag", vec![tag.into(), repo.into()])
            .await
            .map(drop)
    }

    /// `getExternalRepo(repo)`; `None` when unknown.
    pub async fn get_external_repo(
        &self,
        repo: impl Into<Value>,
    ) -> KojiResult<Option<ExternalRepo>> {
        self.call_as("getExternalRepo", vec![repo.into()], Struct::new())
            .await
    }

    /// `createExternalRepo(name, url)`.
    pub async fn create_external_repo(&self, name: &str, url: &str) -> KojiResult<ExternalRepo> {
        self.call_as(
            "createExternalRepo",
            vec![Value::str(name), Value::str(url)],
            Struct::new(),
        )
        .await
    }

    /// `addExternalRepoToTag(tag, repo, priority)`.
    pub async fn add_external_repo_to_tag(
        &self,
        tag: impl Into<Value>,
        repo: impl Into<Value>,
        priority: i64,
    ) -> KojiResult<()> {
        self.call(
            "addExternalRepoToTag",
            vec![tag.into(), repo.into(), priority.into()],
        )
        .await
        .map(drop)
    }

    /// `newRepo(tag)`: starts a repo regeneration; returns the task id.
    pub async fn new_repo(&self, tag: impl Into<Value>) -> KojiResult<i64> {
        self.call_as("newRepo", vec![tag.into()], Struct::new())
            .await
    }
}

/// Keyword arguments of `groupPackageListAdd` (Koji reads `block`, not `blocked`).
fn group_package_kwargs(kind: &str, blocked: bool) -> Struct {
    xstruct! {"type" => kind, "block" => blocked}
}

fn task_kwargs(request: bool) -> Struct {
    if request {
        xstruct! {"request" => true}
    } else {
        Struct::new()
    }
}
