//! "A rebuild would fix it" (issue 18). When a package's binaries are uninstallable in
//! the collection's checked repo and a scratch build of it has completed on a repo at
//! least as new as the breakage, the build's binaries are read from Koji (their rpm
//! headers: `koschei_koji::task_rpms`) and installed into an empty root from the checked
//! repo, beside the repo's own packages (`koschei_depsolve::rebuild`). The outcome goes to
//! `rebuild_installability`; when every binary would install, an `installability.change`
//! message with `fixed_by_rebuild` and the task goes out in the same transaction.
//!
//! Each (build, repo) is checked once: Koji's answer that the task has no binaries (its
//! files expired, or it produced none) or malformed headers are stored as "nothing to
//! check"; only an unreachable Koji is retried on the next iteration.

use anyhow::Context as _;
use koschei_core::installability::checked_repo;
use koschei_core::outbox::{self, BinaryInstallability, InstallabilityChange, Installable};
use koschei_depsolve::{HeaderDep, Nevra, RebuiltBinary, Sack};
use koschei_koji::{KojiError, RpmDep, TaskBinary};

use crate::context::{CollectionInfo, Context};
use crate::repo_env::RepoStatus;

/// Builds checked per collection and iteration.
const CHECKS_PER_ITERATION: i64 = 20;

/// A completed scratch build of a package with uninstallable binaries.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Candidate {
    build_id: i32,
    task_id: i32,
    package: String,
}

/// What a check found, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildOutcome {
    /// `None`: nothing to check (no binaries of this arch).
    pub installable: Option<bool>,
    pub binaries: Vec<BinaryInstallability>,
    /// Why there was nothing to check.
    pub note: Option<String>,
}

/// Checks the collection's candidate builds against its checked repo; returns how many
/// were checked.
pub async fn check_collection(ctx: &Context, c: &CollectionInfo) -> anyhow::Result<usize> {
    if !ctx.config.dependency.check_installability {
        return Ok(0);
    }
    let Some(repo_id) = checked_repo(&mut *ctx.pool.acquire().await?, c.id).await? else {
        return Ok(0);
    };
    let candidates = candidates(ctx, c.id, repo_id).await?;
    if candidates.is_empty() {
        return Ok(0);
    }
    let solv = match ctx.repos.get(ctx.koji_for(c), &c.repo(repo_id)).await? {
        RepoStatus::Ready(repo) => repo.solv.clone(),
        _ => return Ok(0), // the installability pass says why; the next repo will do
    };
    let mut fetched = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let binaries = match ctx
            .koji_for(c)
            .task_binaries(candidate.task_id.into())
            .await
        {
            Ok(binaries) => Ok(binaries),
            // Koji's answer about this task: asking again would get the same
            Err(e @ (KojiError::Fault { .. } | KojiError::Unexpected { .. })) => {
                tracing::warn!(
                    "{}: build {} (task {}): binaries not readable from Koji: {e}",
                    c.name,
                    candidate.build_id,
                    candidate.task_id
                );
                Err(format!("Koji: {e}"))
            }
            Err(e) => return Err(e).context("reading a scratch build's binaries"),
        };
        fetched.push((candidate, binaries));
    }
    let ignore_weak = ctx.config.dependency.ignore_weak_deps;
    let checked = tokio::task::spawn_blocking(move || {
        let mut sack = solv.load()?;
        anyhow::Ok(
            fetched
                .into_iter()
                .map(|(candidate, binaries)| {
                    let outcome = match binaries {
                        Ok(binaries) => check(&mut sack, &binaries, ignore_weak),
                        Err(note) => RebuildOutcome {
                            installable: None,
                            binaries: Vec::new(),
                            note: Some(note),
                        },
                    };
                    (candidate, outcome)
                })
                .collect::<Vec<_>>(),
        )
    })
    .await
    .context("rebuild check panicked")??;
    for (candidate, outcome) in &checked {
        store(ctx, c, repo_id, candidate, outcome).await?;
    }
    Ok(checked.len())
}

/// The latest completed scratch build of each package with binaries uninstallable in
/// `repo_id`, built on a repo no older than the breakage, unless it was checked against
/// `repo_id` already (older builds never are: the latest says what a rebuild does). The
/// query starts from the few uninstallable source packages, not from the builds.
async fn candidates(
    ctx: &Context,
    collection_id: i32,
    repo_id: i32,
) -> sqlx::Result<Vec<Candidate>> {
    sqlx::query_as(
        "WITH broken AS (
             SELECT source_name, min(since_repo_id) AS since FROM binary_installability
              WHERE collection_id = $1 AND NOT installable GROUP BY source_name
         ), latest AS (
             SELECT DISTINCT ON (p.id) b.id AS build_id, b.task_id, p.name AS package
               FROM broken
               JOIN package p ON p.collection_id = $1 AND p.name = broken.source_name
               JOIN build b ON b.package_id = p.id
              WHERE b.state = $3 AND NOT b.real AND b.repo_id >= broken.since
              ORDER BY p.id, b.id DESC
         )
         SELECT * FROM latest l
          WHERE NOT EXISTS (SELECT 1 FROM rebuild_installability r
                             WHERE r.build_id = l.build_id AND r.repo_id = $2)
          LIMIT $4",
    )
    .bind(collection_id)
    .bind(repo_id)
    .bind(koschei_core::model::BuildState::Complete as i32)
    .bind(CHECKS_PER_ITERATION)
    .fetch_all(&ctx.pool)
    .await
}

/// Installs each of `binaries` of the sack's arch from the sack's repo.
pub fn check(sack: &mut Sack, binaries: &[TaskBinary], ignore_weak_deps: bool) -> RebuildOutcome {
    let rebuilt: Vec<RebuiltBinary> = binaries.iter().map(rebuilt_binary).collect();
    let results = sack.rebuilt_installability(&rebuilt, ignore_weak_deps);
    let checked: Vec<BinaryInstallability> = rebuilt
        .into_iter()
        .zip(results)
        .filter_map(|(binary, problems)| {
            let problems = problems?;
            Some(BinaryInstallability {
                evr: binary.nevra.evr(),
                name: binary.nevra.name,
                arch: binary.nevra.arch,
                installable: problems.is_empty(),
                problems,
            })
        })
        .collect();
    let note = checked.is_empty().then(|| {
        format!(
            "no binary package of this architecture in the task's output ({} in all)",
            binaries.len()
        )
    });
    RebuildOutcome {
        installable: (!checked.is_empty()).then(|| checked.iter().all(|b| b.installable)),
        binaries: checked,
        note,
    }
}

fn rebuilt_binary(b: &TaskBinary) -> RebuiltBinary {
    let deps = |list: &[RpmDep]| -> Vec<HeaderDep> {
        list.iter()
            .map(|d| HeaderDep {
                name: d.name.clone(),
                flags: d.flags,
                version: d.version.clone(),
            })
            .collect()
    };
    RebuiltBinary {
        nevra: Nevra {
            name: b.name.clone(),
            epoch: b.epoch.and_then(|e| u32::try_from(e).ok()).unwrap_or(0),
            version: b.version.clone(),
            release: b.release.clone(),
            arch: b.arch.clone(),
        },
        provides: deps(&b.provides),
        requires: deps(&b.requires),
        conflicts: deps(&b.conflicts),
        obsoletes: deps(&b.obsoletes),
    }
}

/// Stores the outcome; when the rebuild would fix the package, the message goes out in
/// the same transaction. Another instance having stored it first is no error.
async fn store(
    ctx: &Context,
    c: &CollectionInfo,
    repo_id: i32,
    candidate: &Candidate,
    outcome: &RebuildOutcome,
) -> anyhow::Result<()> {
    let mut tx = ctx.pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO rebuild_installability (build_id, repo_id, installable, binaries, note)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(candidate.build_id)
    .bind(repo_id)
    .bind(outcome.installable)
    .bind(sqlx::types::Json(&outcome.binaries))
    .bind(&outcome.note)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 && outcome.installable == Some(true) {
        let change = InstallabilityChange {
            name: candidate.package.clone(),
            old: Installable::Uninstallable,
            new: Installable::Uninstallable,
            binaries: outcome.binaries.clone(),
            fixed_by_rebuild: Some(candidate.task_id.into()),
        };
        outbox::installability_changed(&mut tx, &ctx.config, c.id, repo_id, &[change]).await?;
        tracing::info!(
            "{}: {}: a rebuild would make its binaries installable (task {})",
            c.name,
            candidate.package,
            candidate.task_id
        );
    }
    tx.commit().await?;
    Ok(())
}
