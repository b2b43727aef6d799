//! The hub's data: tags with inheritance and history, targets, packages, builds, rpms,
//! repos, comps groups, external repos, hosts, sessions and events — Koji's model,
//! in memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use koschei_koji::model::{BuildState, RepoState};
use koschei_koji::xmlrpc::Struct;

use crate::comps::Group;
use crate::new_binary::NewBinary;
use crate::seed::{SeedBinary, SourcePackage};
use crate::task::Task;
use crate::time::now_ts;

/// First repo id (ids are distinct from build and task ids to catch mix-ups).
pub const FIRST_REPO_ID: i64 = 1000;
/// First event id.
pub const FIRST_EVENT: i64 = 100_000;
/// How far the ids of one generation (a restart on the same state directory) are
/// moved past the previous one's: repos, events and tasks never repeat an id a
/// client saw before.
pub const GENERATION_SPAN: (i64, i64, i64) = (100_000, 1_000_000, 1_000_000);
/// First task id.
pub const FIRST_TASK_ID: i64 = 10_000_000;

/// A user.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A tag.
#[derive(Debug, Clone)]
pub struct Tag {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Space-separated arches.
    pub arches: Option<String>,
    /// Parent tags in inheritance priority order.
    pub parents: Vec<i64>,
    /// Locked flag.
    pub locked: bool,
    /// Comps groups over time: `(event, groups)` in event order.
    pub groups: Vec<(i64, Arc<Vec<Group>>)>,
    /// External repos: `(external repo id, priority, merge mode)`.
    pub external_repos: Vec<(i64, i64, String)>,
    /// Koji's `extra` settings (a side tag's owner, …).
    pub extra: Struct,
    /// Deleted: its configuration is revoked, only its id and name remain (Koji keeps
    /// the row of a deleted tag for the data that still refers to it, such as repos).
    pub deleted: bool,
}

impl Tag {
    /// Whether Koji's sidetag plugin made it (`extra.sidetag` set).
    pub fn is_side_tag(&self) -> bool {
        self.extra
            .get("sidetag")
            .is_some_and(koschei_koji::xmlrpc::is_truthy)
    }
}

/// A build target.
#[derive(Debug, Clone)]
pub struct Target {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Build tag id.
    pub build_tag: i64,
    /// Destination tag id.
    pub dest_tag: i64,
}

/// A package's entry in a tag's package list.
#[derive(Debug, Clone)]
pub struct PackageListing {
    /// Owner.
    pub owner_id: i64,
    /// Whether blocked.
    pub blocked: bool,
}

/// What an rpm is.
#[derive(Debug, Clone)]
pub enum RpmContent {
    /// A source rpm.
    Source(Arc<SourcePackage>),
    /// A binary from the seed repo (its XML stays in the seed files).
    SeedBinary(Arc<SeedBinary>),
    /// A binary made by a scenario, with its pkgid.
    NewBinary(Arc<NewBinary>, String),
}

/// An rpm of a build.
#[derive(Debug, Clone)]
pub struct Rpm {
    /// Id.
    pub id: i64,
    /// Build id.
    pub build_id: i64,
    /// Content.
    pub content: RpmContent,
}

/// Name, epoch, version, release and arch of an rpm.
pub struct RpmNevra<'a> {
    /// Name.
    pub name: &'a str,
    /// Epoch.
    pub epoch: Option<i64>,
    /// Version.
    pub version: &'a str,
    /// Release.
    pub release: &'a str,
    /// Arch.
    pub arch: &'a str,
}

impl Rpm {
    /// Its NEVRA.
    pub fn nevra(&self) -> RpmNevra<'_> {
        match &self.content {
            RpmContent::Source(s) => RpmNevra {
                name: &s.name,
                epoch: s.epoch,
                version: &s.version,
                release: &s.release,
                arch: "src",
            },
            RpmContent::SeedBinary(b) => RpmNevra {
                name: &b.name,
                epoch: b.epoch,
                version: &b.version,
                release: &b.release,
                arch: &b.arch,
            },
            RpmContent::NewBinary(b, _) => RpmNevra {
                name: &b.name,
                epoch: (b.epoch != 0).then_some(b.epoch),
                version: &b.version,
                release: &b.release,
                arch: &b.arch,
            },
        }
    }

    /// Its pkgid in repodata (binaries only).
    pub fn pkgid(&self) -> Option<&str> {
        match &self.content {
            RpmContent::Source(_) => None,
            RpmContent::SeedBinary(b) => Some(&b.pkgid),
            RpmContent::NewBinary(_, id) => Some(id),
        }
    }
}

/// A build.
#[derive(Debug, Clone)]
pub struct Build {
    /// Id.
    pub id: i64,
    /// Package id.
    pub package_id: i64,
    /// The source package (name, EVR, BuildRequires, arch headers).
    pub source: Arc<SourcePackage>,
    /// State.
    pub state: BuildState,
    /// Build task.
    pub task_id: Option<i64>,
    /// Owner.
    pub owner_id: i64,
    /// Creation event.
    pub creation_event: i64,
    /// Creation timestamp.
    pub creation_ts: f64,
    /// Completion timestamp.
    pub completion_ts: f64,
    /// Rpm ids: the SRPM first, then binaries.
    pub rpms: Vec<i64>,
}

/// One tagging of a build, revoked by an untag.
#[derive(Debug, Clone)]
pub struct TagEntry {
    /// Tag.
    pub tag_id: i64,
    /// Build.
    pub build_id: i64,
    /// Event of the tagging.
    pub create_event: i64,
    /// Event of the untagging.
    pub revoke_event: Option<i64>,
}

impl TagEntry {
    fn active_at(&self, event: i64) -> bool {
        self.create_event <= event && self.revoke_event.is_none_or(|r| r > event)
    }
}

/// A repo of a tag.
#[derive(Debug, Clone)]
pub struct Repo {
    /// Id.
    pub id: i64,
    /// Tag.
    pub tag_id: i64,
    /// State.
    pub state: RepoState,
    /// Event its content was taken at.
    pub create_event: i64,
    /// Creation timestamp.
    pub create_ts: f64,
    /// The newRepo task, if any.
    pub task_id: Option<i64>,
}

/// An external repo.
#[derive(Debug, Clone)]
pub struct ExternalRepo {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
}

/// A builder host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Space-separated arches.
    pub arches: String,
    /// Capacity.
    pub capacity: f64,
}

/// Everything the hub knows.
#[derive(Debug, Default)]
pub struct State {
    /// Scripted incompatibilities: binary NVR → source packages whose builds
    /// fail when that binary is in their buildroot (`importBuild` `breaks`).
    pub breaks: HashMap<String, Vec<String>>,
    /// Last event id.
    pub event: i64,
    /// Users.
    pub users: Vec<User>,
    /// Tags (id = index + 1).
    pub tags: Vec<Tag>,
    /// Targets (ids never reused).
    pub targets: Vec<Target>,
    /// Last target id.
    pub last_target_id: i64,
    /// Package names (id = index + 1).
    pub packages: Vec<String>,
    /// Package ids by name.
    pub package_ids: HashMap<String, i64>,
    /// Package lists per tag.
    pub package_lists: HashMap<i64, BTreeMap<i64, PackageListing>>,
    /// Builds (id = index + 1).
    pub builds: Vec<Build>,
    /// Build ids by NVR.
    pub build_ids: HashMap<String, i64>,
    /// Rpms (id = index + 1).
    pub rpms: Vec<Rpm>,
    /// Tag history.
    pub tag_entries: Vec<TagEntry>,
    /// Tag history indexes per tag.
    pub tag_entries_by_tag: HashMap<i64, Vec<usize>>,
    /// Repos (id = index + `first_repo_id`).
    pub repos: Vec<Repo>,
    /// Id of the first repo of this run ([`FIRST_REPO_ID`] in the first generation).
    pub first_repo_id: i64,
    /// Tasks by id.
    pub tasks: BTreeMap<i64, Task>,
    /// Next task id.
    pub next_task_id: i64,
    /// External repos (id = index + 1).
    pub external_repos: Vec<ExternalRepo>,
    /// Builder hosts.
    pub hosts: Vec<Host>,
    /// Open sessions: id → (key, user id).
    pub sessions: HashMap<i64, (String, i64)>,
    /// Seconds each call of a method waits before it runs (`sim.setCallDelay`).
    pub call_delays: HashMap<String, f64>,
    /// Calls received per method (a `multiCall` counts once), for tests.
    pub call_counts: HashMap<String, u64>,
    /// Calls still to fail per method (`sim.failNext`).
    pub failing_calls: HashMap<String, u32>,
    /// Sessions expired by `sim.expireSessions` (calls get `AuthExpired`).
    pub expired_sessions: HashSet<i64>,
    /// Users by Kerberos principal (Koji's `user_krb_principals`).
    pub krb_principals: HashMap<String, i64>,
    /// Kerberos protects `/kojihub/ssllogin` (`--gssapi-keytab`).
    pub gssapi: bool,
    /// Sessions in URL parameters are ignored (Koji's `DisableURLSessions`).
    pub url_sessions_disabled: bool,
    /// The last call number that changed data, per session (Koji's `callnum`).
    pub last_callnums: HashMap<i64, i64>,
    /// Replies of `build` calls still to lose after the task was created
    /// (`sim.loseBuildReplies`).
    pub lost_build_replies: u32,
    /// Probability of a build failing for no dependency reason.
    pub failure_rate: f64,
    /// Probability of an infrastructure failure.
    pub infra_failure_rate: f64,
    /// Seconds a scratch build takes.
    pub build_time: f64,
    /// Group ids by group name.
    pub group_ids: HashMap<String, i64>,
}

impl State {
    /// A new event id.
    pub fn new_event(&mut self) -> i64 {
        self.event += 1;
        self.event
    }

    /// The user of a Kerberos principal, as Koji's `sslLogin` finds it: by principal, else
    /// the user named like the principal's part before `@` (created when missing, as with
    /// `LoginCreatesUser`), which the principal is then recorded for.
    pub fn kerberos_user(&mut self, principal: &str) -> i64 {
        if let Some(id) = self.krb_principals.get(principal) {
            return *id;
        }
        let name = principal.split('@').next().unwrap_or(principal);
        let id = self.add_user(name);
        self.krb_principals.insert(principal.to_owned(), id);
        id
    }

    /// Adds a user, returning its id.
    pub fn add_user(&mut self, name: &str) -> i64 {
        if let Some(u) = self.users.iter().find(|u| u.name == name) {
            return u.id;
        }
        let id = self.users.len() as i64 + 1;
        self.users.push(User {
            id,
            name: name.to_owned(),
        });
        id
    }

    /// User name by id.
    pub fn user_name(&self, id: i64) -> &str {
        self.users
            .get((id - 1) as usize)
            .map_or("unknown", |u| u.name.as_str())
    }

    /// The id the next [`State::add_tag`] gives.
    pub fn next_tag_id(&self) -> i64 {
        self.tags.len() as i64 + 1
    }

    /// Creates a tag.
    pub fn add_tag(&mut self, name: &str, arches: Option<String>, parents: Vec<i64>) -> i64 {
        let id = self.next_tag_id();
        self.tags.push(Tag {
            id,
            name: name.to_owned(),
            arches,
            parents,
            locked: false,
            groups: Vec::new(),
            external_repos: Vec::new(),
            extra: Struct::new(),
            deleted: false,
        });
        id
    }

    /// Tag by id, also a deleted one (whose name repos still show).
    pub fn tag(&self, id: i64) -> Option<&Tag> {
        usize::try_from(id - 1).ok().and_then(|i| self.tags.get(i))
    }

    /// Mutable tag by id.
    pub fn tag_mut(&mut self, id: i64) -> Option<&mut Tag> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.tags.get_mut(i))
    }

    /// Existing (not deleted) tag by id.
    pub fn live_tag(&self, id: i64) -> Option<&Tag> {
        self.tag(id).filter(|t| !t.deleted)
    }

    /// Existing (not deleted) tag by name.
    pub fn tag_by_name(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name == name && !t.deleted)
    }

    /// Deletes a tag as Koji's `_delete_tag` does: its configuration, inheritance (both
    /// ways), targets using it, taggings, package list, external repos and groups are
    /// revoked at a new event (no tagging messages); its repos stay (kojira's part).
    pub fn delete_tag(&mut self, tag_id: i64) {
        let event = self.new_event();
        self.targets
            .retain(|t| t.build_tag != tag_id && t.dest_tag != tag_id);
        for tag in &mut self.tags {
            tag.parents.retain(|p| *p != tag_id);
        }
        let builds: Vec<i64> = self
            .tagged(tag_id, event, false, false, None)
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        for build in builds {
            self.untag_build(tag_id, build, event);
        }
        self.package_lists.remove(&tag_id);
        if let Some(tag) = self.tag_mut(tag_id) {
            tag.deleted = true;
            tag.parents.clear();
            tag.extra.clear();
            tag.external_repos.clear();
            tag.groups.push((event, Arc::new(Vec::new())));
        }
    }

    /// Adds a build target; returns its id.
    pub fn add_target(&mut self, name: &str, build_tag: i64, dest_tag: i64) -> i64 {
        self.last_target_id += 1;
        let id = self.last_target_id;
        self.targets.push(Target {
            id,
            name: name.to_owned(),
            build_tag,
            dest_tag,
        });
        id
    }

    /// The tag and its ancestors in inheritance order (depth first, no repeats).
    pub fn inheritance(&self, tag_id: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut stack = vec![tag_id];
        while let Some(t) = stack.pop() {
            if out.contains(&t) {
                continue;
            }
            out.push(t);
            if let Some(tag) = self.tag(t) {
                stack.extend(tag.parents.iter().rev());
            }
        }
        out
    }

    /// The inheritance links above a tag as Koji's `readFullInheritance` walks them: depth
    /// first in priority order, each ancestor once, as (child id, parent id, depth).
    pub fn inheritance_links(&self, tag_id: i64) -> Vec<(i64, i64, i64)> {
        fn walk(
            st: &State,
            child: i64,
            depth: i64,
            seen: &mut Vec<i64>,
            out: &mut Vec<(i64, i64, i64)>,
        ) {
            let Some(tag) = st.tag(child) else { return };
            for &parent in &tag.parents {
                if seen.contains(&parent) {
                    continue;
                }
                seen.push(parent);
                out.push((child, parent, depth));
                walk(st, parent, depth + 1, seen, out);
            }
        }
        let mut out = Vec::new();
        walk(self, tag_id, 1, &mut vec![tag_id], &mut out);
        out
    }

    /// Package id for a name, creating the package if needed.
    pub fn package_id(&mut self, name: &str) -> i64 {
        if let Some(id) = self.package_ids.get(name) {
            return *id;
        }
        self.packages.push(name.to_owned());
        let id = self.packages.len() as i64;
        self.package_ids.insert(name.to_owned(), id);
        id
    }

    /// Build by id.
    pub fn build(&self, id: i64) -> Option<&Build> {
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| self.builds.get(i))
    }

    /// Rpm by id.
    pub fn rpm(&self, id: i64) -> Option<&Rpm> {
        usize::try_from(id - 1).ok().and_then(|i| self.rpms.get(i))
    }

    /// Repo by id.
    pub fn repo(&self, id: i64) -> Option<&Repo> {
        usize::try_from(id - self.first_repo_id)
            .ok()
            .and_then(|i| self.repos.get(i))
    }

    /// Mutable repo by id.
    pub fn repo_mut(&mut self, id: i64) -> Option<&mut Repo> {
        usize::try_from(id - self.first_repo_id)
            .ok()
            .and_then(|i| self.repos.get_mut(i))
    }

    /// Adds a build with its SRPM and binaries; returns its id.
    pub fn add_build(
        &mut self,
        source: Arc<SourcePackage>,
        binaries: Vec<RpmContent>,
        owner_id: i64,
        task_id: Option<i64>,
        state: BuildState,
    ) -> i64 {
        let package_id = self.package_id(&source.name);
        let id = self.builds.len() as i64 + 1;
        let creation_event = self.event;
        let mut rpms = Vec::with_capacity(binaries.len() + 1);
        for content in std::iter::once(RpmContent::Source(source.clone())).chain(binaries) {
            let rpm_id = self.rpms.len() as i64 + 1;
            self.rpms.push(Rpm {
                id: rpm_id,
                build_id: id,
                content,
            });
            rpms.push(rpm_id);
        }
        let ts = now_ts();
        self.build_ids.insert(source.nvr(), id);
        self.builds.push(Build {
            id,
            package_id,
            source,
            state,
            task_id,
            owner_id,
            creation_event,
            creation_ts: ts,
            completion_ts: ts,
            rpms,
        });
        id
    }

    /// Tags a build (new tag entry at a new event unless `event` is given).
    pub fn tag_build(&mut self, tag_id: i64, build_id: i64, event: i64) {
        let idx = self.tag_entries.len();
        self.tag_entries.push(TagEntry {
            tag_id,
            build_id,
            create_event: event,
            revoke_event: None,
        });
        self.tag_entries_by_tag.entry(tag_id).or_default().push(idx);
    }

    /// Revokes the active tagging of a build; false when it was not tagged.
    pub fn untag_build(&mut self, tag_id: i64, build_id: i64, event: i64) -> bool {
        let Some(indexes) = self.tag_entries_by_tag.get(&tag_id) else {
            return false;
        };
        let mut found = false;
        for &i in indexes {
            let e = &mut self.tag_entries[i];
            if e.build_id == build_id && e.revoke_event.is_none() {
                e.revoke_event = Some(event);
                found = true;
            }
        }
        found
    }

    /// Builds tagged in `tag` at `event` as `(tag id, build id)`, newest tagging first;
    /// with `inherit` through the tag's ancestors; with `latest` only the first build of
    /// each package (a package in a nearer tag hides it in farther ones).
    pub fn tagged(
        &self,
        tag_id: i64,
        event: i64,
        inherit: bool,
        latest: bool,
        package: Option<&str>,
    ) -> Vec<(i64, i64)> {
        let chain = if inherit {
            self.inheritance(tag_id)
        } else {
            vec![tag_id]
        };
        let mut seen: HashSet<i64> = HashSet::new();
        let mut out = Vec::new();
        for t in chain {
            let Some(indexes) = self.tag_entries_by_tag.get(&t) else {
                continue;
            };
            let mut entries: Vec<&TagEntry> = indexes
                .iter()
                .map(|&i| &self.tag_entries[i])
                .filter(|e| e.active_at(event))
                .collect();
            entries.sort_by_key(|e| std::cmp::Reverse(e.create_event));
            let mut seen_here: HashSet<i64> = HashSet::new();
            for e in entries {
                let Some(build) = self.build(e.build_id) else {
                    continue;
                };
                if package.is_some_and(|p| p != build.source.name) {
                    continue;
                }
                if latest {
                    if seen.contains(&build.package_id) || !seen_here.insert(build.package_id) {
                        continue;
                    }
                } else {
                    seen_here.insert(build.package_id);
                }
                out.push((t, build.id));
            }
            seen.extend(seen_here);
        }
        out
    }

    /// Comps groups of a tag at an event (own groups, then inherited ones by name).
    pub fn groups_at(&self, tag_id: i64, event: i64) -> Vec<(i64, Group)> {
        let mut out: Vec<(i64, Group)> = Vec::new();
        for t in self.inheritance(tag_id) {
            let Some(tag) = self.tag(t) else { continue };
            let Some((_, groups)) = tag.groups.iter().rev().find(|(e, _)| *e <= event) else {
                continue;
            };
            for g in groups.iter() {
                if !out.iter().any(|(_, o)| o.name == g.name) {
                    out.push((t, g.clone()));
                }
            }
        }
        out
    }

    /// Replaces a tag's groups (a new history entry at a new event).
    pub fn set_groups(&mut self, tag_id: i64, mut groups: Vec<Group>) {
        for g in &mut groups {
            let next = self.group_ids.len() as i64 + 1;
            g.id = *self.group_ids.entry(g.name.clone()).or_insert(next);
        }
        let event = self.new_event();
        if let Some(tag) = self.tags.get_mut((tag_id - 1) as usize) {
            tag.groups.push((event, Arc::new(groups)));
        }
    }

    /// The latest repo of a tag in a state.
    pub fn latest_repo(&self, tag_id: i64, state: RepoState) -> Option<&Repo> {
        self.repos
            .iter()
            .rev()
            .find(|r| r.tag_id == tag_id && r.state == state)
    }

    /// Ids of the builds a repo of `tag_id` made at `event` contains (latest per package,
    /// with inheritance).
    pub fn repo_builds(&self, tag_id: i64, event: i64) -> Vec<i64> {
        self.tagged(tag_id, event, true, true, None)
            .into_iter()
            .map(|(_, b)| b)
            .collect()
    }

    /// Allocates a task id.
    pub fn new_task_id(&mut self) -> i64 {
        let id = self.next_task_id;
        self.next_task_id += 1;
        id
    }

    /// Current load of a host: Σ weight of its open tasks.
    pub fn host_load(&self, host_id: i64) -> f64 {
        self.tasks
            .values()
            .filter(|t| t.host_id == Some(host_id) && !t.state.is_finished())
            .map(|t| t.weight)
            .sum()
    }
}
