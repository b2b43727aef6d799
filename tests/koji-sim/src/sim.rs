//! The simulator: seeded hub state plus the machinery around it (repo generation,
//! build runs, logs, messages, randomness).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{Context, Result};
use koschei_koji::model::{BuildState, RepoState, TaskState};
use koschei_koji::xmlrpc::Value;
use koschei_koji::xstruct;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tracing::info;

use crate::messaging::{Message, Publisher};
use crate::new_binary::NewBinary;
use crate::repos::{write_repo, RepoContent};
use crate::resolver::{BuildResolver, Resolution};
use crate::seed::{Seed, SourcePackage};
use crate::state::{
    Host, Repo, RpmContent, State, FIRST_EVENT, FIRST_REPO_ID, FIRST_TASK_ID, GENERATION_SPAN,
};
use crate::task::Task;
use crate::time::now_ts;

/// First task id of the synthesized tasks of seeded builds.
const SEED_TASK_BASE: i64 = 1_000_000;
/// User owning seeded builds and package listings.
pub const RELENG: &str = "releng";

/// URLs and names the simulator announces.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// XML-RPC endpoint.
    pub hub_url: String,
    /// File tree root.
    pub topurl: String,
    /// Web UI root (for links in messages).
    pub weburl: String,
    /// The seeded collection (target, dest tag; build tag is `<name>-build`).
    pub collection: String,
}

/// Tunables of build outcomes.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Seconds a scratch build takes.
    pub build_time: f64,
    /// Probability of a random build failure.
    pub failure_rate: f64,
    /// Probability of an infrastructure failure.
    pub infra_failure_rate: f64,
    /// Seed of the random generator.
    pub seed_random: u64,
}

/// The simulator.
pub struct Sim {
    /// Hub state.
    pub state: Mutex<State>,
    /// The seed.
    pub seed: Arc<Seed>,
    /// Announced URLs.
    pub options: Endpoints,
    /// Root of the topurl file tree.
    pub files_dir: PathBuf,
    /// Build ids of the seed's source packages, by seed index.
    seed_build_ids: Vec<i64>,
    resolver: Arc<dyn BuildResolver>,
    publisher: Publisher,
    rng: Mutex<StdRng>,
    repo_lock: tokio::sync::Mutex<()>,
}

/// A repo whose files are still to be written.
pub struct RepoJob {
    /// Repo id.
    pub repo_id: i64,
    tag_id: i64,
    tag_name: String,
    arches: Vec<String>,
    content: RepoContent,
    timestamp: i64,
}

impl Sim {
    /// Builds the seeded state and writes the first repo.
    pub async fn start(
        seed: Seed,
        options: Endpoints,
        behaviour: Behaviour,
        files_dir: PathBuf,
        resolver: Arc<dyn BuildResolver>,
        publisher: Publisher,
        generation: i64,
    ) -> Result<Arc<Sim>> {
        let seed = Arc::new(seed);
        let (state, seed_build_ids) = seed_state(&seed, &options.collection, behaviour, generation);
        let sim = Arc::new(Sim {
            state: Mutex::new(state),
            seed,
            options,
            files_dir,
            seed_build_ids,
            resolver,
            publisher,
            rng: Mutex::new(StdRng::seed_from_u64(behaviour.seed_random)),
            repo_lock: tokio::sync::Mutex::new(()),
        });
        let build_tag = format!("{}-build", sim.options.collection);
        let tag_id = sim
            .lock()
            .tag_by_name(&build_tag)
            .map(|t| t.id)
            .context("build tag")?;
        let repo_id = sim.regen_repo(tag_id).await?;
        info!(repo_id, "first repo ready");
        Ok(sim)
    }

    /// Locks the hub state.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes (and records) a message.
    pub fn publish(&self, message: Message) {
        self.publisher.publish(message);
    }

    /// Recently published messages.
    pub fn recent_messages(&self) -> Vec<Message> {
        self.publisher.recent()
    }

    /// Rolls an event of probability `p` with the simulator's seeded generator.
    pub fn roll(&self, p: f64) -> bool {
        p > 0.0
            && self
                .rng
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .random::<f64>()
                < p
    }

    /// The least loaded host.
    pub fn pick_host(&self, st: &State) -> Option<i64> {
        st.hosts
            .iter()
            .map(|h| (h.id, st.host_load(h.id) / h.capacity))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(id, _)| id)
    }

    /// Writes a task's build.log and root.log under `work/tasks/…`.
    pub fn write_logs(&self, task_id: i64, build_log: &str, root_log: &str) {
        let dir = self.files_dir.join(Task::work_dir(task_id));
        let result = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("build.log"), build_log))
            .and_then(|()| std::fs::write(dir.join("root.log"), root_log));
        if let Err(e) = result {
            tracing::warn!(task_id, error = %e, "cannot write task logs");
        }
    }

    /// The directory of a repo's arch.
    pub fn repo_dir(&self, tag_name: &str, repo_id: i64, arch: &str) -> PathBuf {
        self.files_dir
            .join("repos")
            .join(tag_name)
            .join(repo_id.to_string())
            .join(arch)
    }

    /// Resolves a buildroot in a repo (x86_64).
    pub async fn resolve(
        &self,
        repo_id: i64,
        group: Vec<String>,
        brs: Vec<String>,
    ) -> Result<Resolution> {
        let tag_name = {
            let st = self.lock();
            let repo = st.repo(repo_id).context("no such repo")?;
            st.tag(repo.tag_id).context("no such tag")?.name.clone()
        };
        let dir = self.repo_dir(&tag_name, repo_id, "x86_64");
        let resolver = self.resolver.clone();
        tokio::task::spawn_blocking(move || resolver.resolve(dir, group, brs)).await?
    }

    /// A task by id, including the synthesized tasks of seeded builds.
    pub fn task(&self, st: &State, id: i64) -> Option<Task> {
        if let Some(t) = st.tasks.get(&id) {
            return Some(t.clone());
        }
        let offset = id.checked_sub(SEED_TASK_BASE)?;
        let build_id = *self.seed_build_ids.get(usize::try_from(offset / 2).ok()?)?;
        let build = st.build(build_id)?;
        let parent_id = SEED_TASK_BASE + (offset / 2) * 2;
        let dest = st.tag_by_name(&self.options.collection)?;
        let build_tag = st.tag_by_name(&format!("{}-build", self.options.collection))?;
        let nvr = build.source.nvr();
        let mut t = if offset % 2 == 0 {
            let mut t = Task::open(
                id,
                "build",
                None,
                "noarch",
                vec![
                    Value::String(format!(
                        "git+https://src.koji-sim.test/rpms/{}.git#{nvr}",
                        build.source.name
                    )),
                    Value::String(dest.name.clone()),
                    Value::Struct(xstruct! {}),
                ],
            );
            t.children = vec![id + 1];
            t.waiting = Some(false);
            t
        } else {
            let request = vec![
                Value::String(format!("tasks/{}/{}/{nvr}.src.rpm", id % 10000, id)),
                Value::Int(build_tag.id),
                Value::str("x86_64"),
                Value::Bool(true),
                Value::Struct(xstruct! {"repo_id" => st.first_repo_id}),
            ];
            let mut t = Task::open(id, "buildArch", Some(parent_id), "x86_64", request);
            t.label = Some("x86_64".into());
            t
        };
        t.owner_id = build.owner_id;
        t.state = TaskState::Closed;
        t.create_ts = build.creation_ts;
        t.start_ts = Some(build.creation_ts);
        t.completion_ts = Some(build.completion_ts);
        t.result = Some(Ok(Value::Nil));
        t.host_id = st.hosts.first().map(|h| h.id);
        Some(t)
    }

    /// Allocates a repo (INIT) and computes what it contains.
    pub fn plan_repo(&self, st: &mut State, tag_id: i64, task_id: Option<i64>) -> Result<RepoJob> {
        let tag = st.tag(tag_id).context("no such tag")?.clone();
        let event = st.new_event();
        let repo_id = st.first_repo_id + st.repos.len() as i64;
        let ts = now_ts();
        st.repos.push(Repo {
            id: repo_id,
            tag_id,
            state: RepoState::Init,
            create_event: event,
            create_ts: ts,
            task_id,
        });
        let builds: HashSet<i64> = st.repo_builds(tag_id, event).into_iter().collect();
        let seed_builds: HashSet<i64> = self.seed_build_ids.iter().copied().collect();
        let rebuilt = rebuilt_packages(st, &builds, &seed_builds);
        let mut dropped = HashSet::new();
        let mut kept = 0;
        for b in &self.seed.binaries {
            let in_repo = match (b.source, &b.origin) {
                (Some(i), _) => builds.contains(&self.seed_build_ids[i]),
                (None, Some(origin)) => !rebuilt.contains(&**origin),
                (None, None) => true,
            };
            if in_repo {
                kept += 1;
            } else {
                dropped.insert(b.pkgid.clone());
            }
        }
        let mut new = Vec::new();
        for build_id in builds.iter().filter(|b| !seed_builds.contains(b)) {
            let Some(build) = st.build(*build_id) else {
                continue;
            };
            for rpm_id in &build.rpms {
                if let Some(RpmContent::NewBinary(b, pkgid)) = st.rpm(*rpm_id).map(|r| &r.content) {
                    new.push((b.clone(), pkgid.clone()));
                }
            }
        }
        // createrepo_c writes packages in file-name order (`task_cmp` in its
        // src/createrepo_c.c), so a rebuilt package keeps its place among the others:
        // a new binary takes the place of the dropped seed binary of its name and arch,
        // the others follow the seed in file-name order
        new.sort_by(|a, b| {
            let key = |x: &NewBinary| {
                (
                    x.name.clone(),
                    x.version.clone(),
                    x.release.clone(),
                    x.arch.clone(),
                )
            };
            key(&a.0).cmp(&key(&b.0)).then_with(|| a.1.cmp(&b.1))
        });
        let mut dropped_of: HashMap<(&str, &str), &str> = HashMap::new();
        for b in self
            .seed
            .binaries
            .iter()
            .filter(|b| dropped.contains(&b.pkgid))
        {
            dropped_of
                .entry((b.name.as_str(), b.arch.as_str()))
                .or_insert(b.pkgid.as_str());
        }
        let mut in_place: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (b, _)) in new.iter().enumerate() {
            if let Some(pkgid) = dropped_of.get(&(b.name.as_str(), b.arch.as_str())) {
                in_place.entry(pkgid.to_string()).or_default().push(i);
            }
        }
        let groups = st
            .groups_at(tag_id, event)
            .into_iter()
            .map(|(_, g)| g)
            .collect();
        let arches = tag
            .arches
            .as_deref()
            .unwrap_or("x86_64")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Ok(RepoJob {
            repo_id,
            tag_id,
            tag_name: tag.name,
            arches,
            content: RepoContent {
                dropped,
                kept,
                new,
                in_place,
                groups,
            },
            timestamp: ts as i64,
        })
    }

    /// Writes a planned repo, marks it READY (older READY repos of the tag EXPIRED) and
    /// publishes `buildsys.repo.done`.
    pub async fn write_repo(self: &Arc<Self>, job: RepoJob) -> Result<i64> {
        let _serial = self.repo_lock.lock().await;
        let started = std::time::Instant::now();
        let sim = self.clone();
        let RepoJob {
            repo_id,
            tag_id,
            tag_name,
            arches,
            content,
            timestamp,
        } = job;
        let dirs: Vec<PathBuf> = arches
            .iter()
            .map(|a| sim.repo_dir(&tag_name, repo_id, a))
            .collect();
        let seed = self.seed.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            for dir in &dirs {
                write_repo(&seed, dir, &content, timestamp)?;
            }
            Ok(())
        })
        .await??;
        {
            let mut st = self.lock();
            if st.repo(repo_id).is_none_or(|r| r.state != RepoState::Init) {
                // its tag was deleted meanwhile (kojira deleted the repo)
                remove_dir(
                    &self
                        .files_dir
                        .join("repos")
                        .join(&tag_name)
                        .join(repo_id.to_string()),
                );
                anyhow::bail!("repo {repo_id} of tag {tag_name} was deleted");
            }
            for r in st
                .repos
                .iter_mut()
                .filter(|r| r.tag_id == tag_id && r.state == RepoState::Ready)
            {
                r.state = RepoState::Expired;
            }
            if let Some(r) = st.repo_mut(repo_id) {
                r.state = RepoState::Ready;
            }
        }
        info!(repo_id, tag = tag_name, elapsed = ?started.elapsed(), "repo written");
        self.publish(Message::repo_done(&tag_name, tag_id, repo_id));
        Ok(repo_id)
    }

    /// What kojira does with the repos of a deleted tag: they become DELETED and their
    /// files are removed.
    pub fn delete_repos_of(&self, st: &mut State, tag_id: i64) {
        for r in st.repos.iter_mut().filter(|r| r.tag_id == tag_id) {
            r.state = RepoState::Deleted;
        }
        if let Some(tag) = st.tag(tag_id) {
            remove_dir(&self.files_dir.join("repos").join(&tag.name));
        }
    }

    /// Plans and writes a new repo of `tag_id`; returns its id once READY.
    pub async fn regen_repo(self: &Arc<Self>, tag_id: i64) -> Result<i64> {
        let job = {
            let mut st = self.lock();
            self.plan_repo(&mut st, tag_id, None)?
        };
        self.write_repo(job).await
    }

    /// Imports a real build (with a closed task tree whose buildArch child carries the
    /// current repo id); returns `(build id, task id)`.
    pub fn import_build(
        &self,
        st: &mut State,
        source: SourcePackage,
        binaries: Vec<NewBinary>,
        owner_id: i64,
    ) -> (i64, i64) {
        let build_tag = st
            .tag_by_name(&format!("{}-build", self.options.collection))
            .map_or(0, |t| t.id);
        let repo_id = st
            .latest_repo(build_tag, RepoState::Ready)
            .map_or(st.first_repo_id, |r| r.id);
        let nvr = source.nvr();
        let parent_id = st.new_task_id();
        let child_id = st.new_task_id();
        let mut parent = Task::open(
            parent_id,
            "build",
            None,
            "noarch",
            vec![
                Value::String(format!(
                    "git+https://src.koji-sim.test/rpms/{}.git#{nvr}",
                    source.name
                )),
                Value::String(self.options.collection.clone()),
                Value::Struct(xstruct! {}),
            ],
        );
        let mut child = Task::open(
            child_id,
            "buildArch",
            Some(parent_id),
            "x86_64",
            vec![
                Value::String(format!(
                    "tasks/{}/{}/{nvr}.src.rpm",
                    child_id % 10000,
                    child_id
                )),
                Value::Int(build_tag),
                Value::str("x86_64"),
                Value::Bool(true),
                Value::Struct(xstruct! {"repo_id" => repo_id}),
            ],
        );
        child.label = Some("x86_64".into());
        for t in [&mut parent, &mut child] {
            t.owner_id = owner_id;
            t.host_id = st.hosts.first().map(|h| h.id);
            t.finish(TaskState::Closed, Ok(Value::Nil));
        }
        parent.children.push(child_id);
        st.tasks.insert(parent_id, parent);
        st.tasks.insert(child_id, child);
        st.new_event();
        let build_id = st.next_build_binaries(source, binaries, owner_id, parent_id);
        (build_id, parent_id)
    }
}

impl State {
    /// Adds a build whose binaries are new packages (pkgids derived from the build id).
    fn next_build_binaries(
        &mut self,
        source: SourcePackage,
        binaries: Vec<NewBinary>,
        owner_id: i64,
        task_id: i64,
    ) -> i64 {
        let build_id = self.builds.len() as i64 + 1;
        let contents = binaries
            .into_iter()
            .map(|b| {
                let pkgid = b.pkgid(build_id);
                RpmContent::NewBinary(Arc::new(b), pkgid)
            })
            .collect();
        self.add_build(
            Arc::new(source),
            contents,
            owner_id,
            Some(task_id),
            BuildState::Complete,
        )
    }
}

/// Names of the packages with a build in `builds` that is not a seed build: their seed
/// binaries whose source is not in the seed ([`SeedBinary::origin`]) are replaced.
///
/// [`SeedBinary::origin`]: crate::seed::SeedBinary::origin
fn rebuilt_packages<'a>(
    st: &'a State,
    builds: &HashSet<i64>,
    seed_builds: &HashSet<i64>,
) -> HashSet<&'a str> {
    builds
        .iter()
        .filter(|b| !seed_builds.contains(b))
        .filter_map(|b| st.build(*b))
        .map(|b| b.source.name.as_str())
        .collect()
}

/// The initial state of a seeded collection.
fn seed_state(
    seed: &Seed,
    collection: &str,
    behaviour: Behaviour,
    generation: i64,
) -> (State, Vec<i64>) {
    let (repos, events, tasks) = GENERATION_SPAN;
    let mut st = State {
        event: FIRST_EVENT + generation * events,
        next_task_id: FIRST_TASK_ID + generation * tasks,
        first_repo_id: FIRST_REPO_ID + generation * repos,
        failure_rate: behaviour.failure_rate,
        infra_failure_rate: behaviour.infra_failure_rate,
        build_time: behaviour.build_time,
        ..State::default()
    };
    st.add_user("kojiadmin");
    let releng = st.add_user(RELENG);
    let dest = st.add_tag(collection, None, Vec::new());
    let build_tag = st.add_tag(
        &format!("{collection}-build"),
        Some("x86_64".to_owned()),
        vec![dest],
    );
    st.add_target(collection, build_tag, dest);
    st.set_groups(build_tag, seed.groups.clone());
    for i in 1..=4 {
        st.hosts.push(Host {
            id: i,
            name: format!("buildvm-x86-{i:02}.koji-sim.test"),
            arches: "x86_64 i386 noarch".to_owned(),
            capacity: 4.0,
        });
    }
    // One binary list per source.
    let mut per_source: Vec<Vec<RpmContent>> = vec![Vec::new(); seed.sources.len()];
    for b in &seed.binaries {
        if let Some(i) = b.source {
            per_source[i].push(RpmContent::SeedBinary(b.clone()));
        }
    }
    let tag_event = st.new_event();
    let mut ids = Vec::with_capacity(seed.sources.len());
    let mut listing = std::collections::BTreeMap::new();
    for (i, (source, binaries)) in seed.sources.iter().zip(per_source).enumerate() {
        let task_id = SEED_TASK_BASE + 2 * i as i64;
        let id = st.add_build(
            source.clone(),
            binaries,
            releng,
            Some(task_id),
            BuildState::Complete,
        );
        st.tag_build(dest, id, tag_event);
        let package_id = st.build(id).map_or(0, |b| b.package_id);
        listing.insert(
            package_id,
            crate::state::PackageListing {
                owner_id: releng,
                blocked: false,
            },
        );
        ids.push(id);
    }
    st.package_lists.insert(dest, listing);
    (st, ids)
}

/// Removes a directory tree, ignoring a missing one.
pub fn remove_dir(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
}
