//! Impact checks (`koschei_core::impact`): the resolution impact of a Koji side tag, or
//! of an extra rpm-md repository, on a collection. The side tag's build repo inherits the
//! collection's build tag, so it is the collection's content with the change applied;
//! a repository is layered over the collection's repo (every package of both in one
//! pool, as dnf sees two enabled repositories). The check compares that with the
//! collection's latest resolved repo (the base) the way an incremental pass compares two
//! consecutive repos ([`crate::impact_compare`]). The packages whose outcome, problems or
//! dependencies differ are recorded with their verdict; nothing else is written.
//!
//! A check is claimed like queued work (a lease, `FOR UPDATE SKIP LOCKED`), only once
//! the collection's own pass of its latest repo is finished. A side tag without a repo
//! yet keeps the check queued (for up to [`REPO_WAIT`]); an unknown side tag, a deleted
//! repo, a repository URL that is not allowed, does not answer or serves broken
//! repodata, unreadable repodata or a Koji fault ends it in state `error` with the reason;
//! a transport or database failure gives the claim back for a later iteration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use koschei_core::impact::{self, ResolutionVerdict};
use koschei_core::impact_messages::{self, BuildGroupArtifact};
use koschei_koji::{KojiError, ListTaggedOpts, RepoState};

use crate::context::{CollectionInfo, Context};
use crate::impact_compare::{compare, Affected};
use crate::repo_env::{PreparedRepo, RepoRequest, RepoStatus};
use crate::step_times::StepTimes;

/// How long a claimed check stays with its resolver before another may take it over.
const LEASE: Duration = Duration::from_secs(900);

/// How long a check waits for its side tag's first repo.
const REPO_WAIT: Duration = Duration::from_secs(24 * 3600);

/// A claimed check.
#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    id: i32,
    collection_id: i32,
    /// The change: a side tag or a repository.
    side_tag: Option<String>,
    repo_url: Option<String>,
    /// Seconds since it was created.
    age: f64,
    /// The check's note before the claim (a waiting check's reason).
    note: Option<String>,
    /// True when another resolver's lease on it had expired.
    taken_over: bool,
    /// Whether to build the affected packages, how far and how many.
    builds: bool,
    depth: i32,
    max_builds: i32,
}

/// How a check ended in this iteration.
enum Outcome {
    /// The affected packages, and the repos compared.
    Done {
        base_repo: i32,
        change_repo: Option<i32>,
        affected: Vec<Affected>,
    },
    /// Not ready yet: back to the queue with this note.
    Wait(String),
    /// Ended in `error` with this reason.
    Refused(String),
}

/// Carries out every queued check that can run now.
pub async fn run_queued(ctx: &Context) -> anyhow::Result<()> {
    let mut seen = Vec::new();
    while let Some(check) = claim(ctx, &seen).await? {
        seen.push(check.id);
        let outcome = match run(ctx, &check).await {
            Ok(outcome) => outcome,
            Err(e) => {
                release(ctx, &check).await?;
                return Err(e.context(format!("impact check {}", check.id)));
            }
        };
        finish(ctx, &check, outcome).await?;
    }
    Ok(())
}

/// Claims the oldest runnable check not in `seen`: queued, or resolving with an expired
/// lease, of a collection whose latest repo's pass is finished.
async fn claim(ctx: &Context, seen: &[i32]) -> sqlx::Result<Option<Claimed>> {
    let claimed: Option<Claimed> = sqlx::query_as(
        "WITH target AS (
             SELECT i.id, i.state = 'resolving' AS taken_over, i.note
             FROM impact_check i
             WHERE (i.state = 'queued'
                    OR (i.state = 'resolving' AND i.claim_until < now() AT TIME ZONE 'UTC'))
               AND i.id <> ALL($3)
               AND NOT EXISTS (SELECT 1 FROM resolver_work w
                               WHERE w.collection_id = i.collection_id)
             ORDER BY i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED)
         UPDATE impact_check i
         SET state = 'resolving', claimed_by = $1,
             claim_until = now() AT TIME ZONE 'UTC' + $2 * interval '1 second',
             started = COALESCE(i.started, now() AT TIME ZONE 'UTC')
         FROM target WHERE i.id = target.id
         RETURNING i.id, i.collection_id, i.side_tag, i.repo_url,
                   extract(epoch FROM now() AT TIME ZONE 'UTC' - i.created)::float8 AS age,
                   target.note, target.taken_over, i.builds, i.depth, i.max_builds",
    )
    .bind(&ctx.instance)
    .bind(LEASE.as_secs_f64())
    .bind(seen)
    .fetch_optional(&ctx.pool)
    .await?;
    if let Some(c) = &claimed {
        // a check that keeps waiting is not written into its history again and again
        if c.note.is_none() || c.taken_over {
            let note = c
                .taken_over
                .then_some("taken over: the previous resolver's claim expired");
            let mut conn = ctx.pool.acquire().await?;
            impact::enter_state(&mut conn, &ctx.config, c.id, impact::RESOLVING, note).await?;
        }
    }
    Ok(claimed)
}

/// Gives a claim back after a transient failure.
async fn release(ctx: &Context, check: &Claimed) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE impact_check SET state = 'queued', claimed_by = NULL, claim_until = NULL
         WHERE id = $1 AND claimed_by = $2",
    )
    .bind(check.id)
    .bind(&ctx.instance)
    .execute(&ctx.pool)
    .await?;
    Ok(())
}

/// A Koji answer that will not change when asked again (a fault or a malformed reply)
/// ends the check; anything else is a transient failure.
fn refused_by_koji<T>(result: Result<T, KojiError>) -> anyhow::Result<Result<T, String>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e @ (KojiError::Fault { .. } | KojiError::Unexpected { .. })) => {
            Ok(Err(format!("Koji refused: {e}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Compares the change's repo with the collection's.
async fn run(ctx: &Context, check: &Claimed) -> anyhow::Result<Outcome> {
    let mut steps = StepTimes::start();
    let Some(c) = ctx.collection(check.collection_id).await? else {
        return Ok(Outcome::Refused("the collection was deleted".into()));
    };
    let Some(base_repo) = c.latest_repo_id else {
        return Ok(Outcome::Wait(format!(
            "waiting for the first repo of {}",
            c.name
        )));
    };
    if c.latest_repo_resolved != Some(true) {
        return Ok(Outcome::Refused(format!(
            "the buildroot of {} does not resolve in repo {base_repo}: there is nothing to \
             compare with",
            c.name
        )));
    }
    let koji = ctx.koji_for(&c);
    // the change holds the build tag's current content: so must the base
    if !c.secondary_mode {
        let latest = refused_by_koji(koji.get_repo(c.build_tag.as_str(), RepoState::Ready).await)?;
        if let Ok(Some(latest)) = latest {
            if latest.id > i64::from(base_repo) {
                return Ok(Outcome::Wait(format!(
                    "waiting for repo {} of {} to be resolved",
                    latest.id, c.build_tag
                )));
            }
        }
    }
    let base = match ctx.repos.get(koji, &c.repo(base_repo)).await? {
        RepoStatus::Ready(repo) => repo,
        status => return Ok(Outcome::Refused(unusable(&status, &c.repo(base_repo)))),
    };
    let change = match (&check.side_tag, &check.repo_url) {
        (Some(tag), _) => side_tag_change(ctx, check, &c, tag).await?,
        (None, Some(url)) => repository_change(ctx, &c, &base, url).await?,
        (None, None) => Err(Outcome::Refused("the check names no change".into())),
    };
    let change = match change {
        Ok(change) => change,
        Err(outcome) => return Ok(outcome),
    };
    steps.mark("repos");
    let affected = compare(
        ctx,
        &c,
        base_repo,
        &base,
        &change.repo,
        &change.rebuilt,
        &mut steps,
    )
    .await?;
    tracing::info!(
        "impact check {}: {} against {} (repo {base_repo}): {} packages affected; {steps}",
        check.id,
        change.label,
        c.name,
        affected.len()
    );
    Ok(Outcome::Done {
        base_repo,
        change_repo: change.koji_repo,
        affected,
    })
}

/// What a check layers over its collection's repo, ready for comparing.
struct Change {
    /// The collection's content with the change applied.
    repo: Arc<PreparedRepo>,
    /// The side tag's Koji repo (`None` for a repository).
    koji_repo: Option<i32>,
    /// Packages the change has builds of: name → (version, release).
    rebuilt: HashMap<String, (String, String)>,
    /// For the log.
    label: String,
}

/// The latest repo of side tag `tag` (which inherits the collection's build tag), its
/// own builds recorded as the check's artifact; `Err` when the check cannot go on now.
async fn side_tag_change(
    ctx: &Context,
    check: &Claimed,
    c: &CollectionInfo,
    tag: &str,
) -> anyhow::Result<Result<Change, Outcome>> {
    let koji = ctx.koji_for(c);
    match refused_by_koji(koji.get_tag(tag).await)? {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Ok(Err(Outcome::Refused(format!(
                "side tag {tag} does not exist in Koji"
            ))))
        }
        Err(reason) => return Ok(Err(Outcome::Refused(reason))),
    }
    let repo = match refused_by_koji(koji.get_repo(tag, RepoState::Ready).await)? {
        Ok(Some(repo)) => repo,
        Ok(None) if check.age > REPO_WAIT.as_secs_f64() => {
            return Ok(Err(Outcome::Refused(format!(
                "side tag {tag} has had no ready repo for {} hours",
                REPO_WAIT.as_secs() / 3600
            ))));
        }
        Ok(None) => {
            return Ok(Err(Outcome::Wait(format!(
                "waiting for the first repo of side tag {tag}"
            ))))
        }
        Err(reason) => return Ok(Err(Outcome::Refused(reason))),
    };
    let change_repo = i32::try_from(repo.id).context("repo id out of range")?;
    let opts = ListTaggedOpts {
        event: Some(repo.create_event),
        latest: true,
        ..ListTaggedOpts::default()
    };
    let builds = match refused_by_koji(koji.list_tagged(tag, &opts).await)? {
        Ok(builds) => builds,
        Err(reason) => return Ok(Err(Outcome::Refused(reason))),
    };
    // the side tag's own builds: a tracked package among them is resolved as rebuilt
    let rebuilt: HashMap<String, (String, String)> = builds
        .iter()
        .map(|b| {
            let name = b.package_name.clone().unwrap_or_else(|| b.name.clone());
            (name, (b.version.clone(), b.release.clone()))
        })
        .collect();
    let artifact = BuildGroupArtifact::new(
        builds
            .into_iter()
            .map(|b| {
                let component = b.package_name.clone().unwrap_or_else(|| b.name.clone());
                let nvr = b
                    .nvr
                    .clone()
                    .unwrap_or_else(|| format!("{}-{}-{}", b.name, b.version, b.release));
                (b.id, b.owner_name.unwrap_or_default(), component, nvr)
            })
            .collect(),
        format!(
            "{}/repos/{tag}/{}/{}",
            koji.config().topurl.trim_end_matches('/'),
            repo.id,
            ctx.config.dependency.repo_arch
        ),
    );
    let mut conn = ctx.pool.acquire().await?;
    impact_messages::artifact_known(&mut conn, &ctx.config, check.id, &artifact).await?;
    drop(conn);
    let request = RepoRequest {
        koji_id: c.koji_id(),
        build_tag: tag,
        build_group: &c.build_group,
        repo_id: repo.id,
    };
    Ok(match ctx.repos.get(koji, &request).await? {
        RepoStatus::Ready(repo) => Ok(Change {
            repo,
            koji_repo: Some(change_repo),
            rebuilt,
            label: format!("side tag {tag} (repo {change_repo})"),
        }),
        status => Err(Outcome::Refused(unusable(&status, &request))),
    })
}

/// The rpm-md repository at `url` layered over the collection's repo `base`; `Err` when
/// it may not or cannot be used (the configuration may have changed since the check
/// was queued).
async fn repository_change(
    ctx: &Context,
    c: &CollectionInfo,
    base: &PreparedRepo,
    url: &str,
) -> anyhow::Result<Result<Change, Outcome>> {
    if let Some(reason) = ctx.config.impact.refuse_repo_url(url) {
        return Ok(Err(Outcome::Refused(reason)));
    }
    Ok(match ctx.repos.layered(ctx.koji_for(c), base, url).await? {
        Ok(repo) => Ok(Change {
            repo,
            koji_repo: None,
            rebuilt: HashMap::new(),
            label: format!("repository {url}"),
        }),
        Err(reason) => Err(Outcome::Refused(reason)),
    })
}

/// Why a repo cannot be compared.
fn unusable(status: &RepoStatus, req: &RepoRequest<'_>) -> String {
    let (tag, id) = (req.build_tag, req.repo_id);
    match status {
        RepoStatus::Ready(_) => unreachable!("a ready repo is usable"),
        RepoStatus::Dead => format!("repo {id} of {tag} is gone (deleted, or its tag removed)"),
        RepoStatus::NoBuildGroup => {
            format!("{tag} has no build group {} in repo {id}", req.build_group)
        }
        RepoStatus::Unavailable => {
            format!("the repodata of repo {id} of {tag} could not be downloaded or read")
        }
    }
}

/// Stores how the check ended (only while this instance still holds the claim).
async fn finish(ctx: &Context, check: &Claimed, outcome: Outcome) -> anyhow::Result<()> {
    let mut tx = ctx.pool.begin().await?;
    let ours: Option<i32> = sqlx::query_scalar(
        "SELECT id FROM impact_check WHERE id = $1 AND claimed_by = $2 FOR UPDATE",
    )
    .bind(check.id)
    .bind(&ctx.instance)
    .fetch_optional(&mut *tx)
    .await?;
    if ours.is_none() {
        tracing::warn!(
            "impact check {}: the claim expired before it was stored; left to its new owner",
            check.id
        );
        return Ok(());
    }
    let (state, note, repos) = match &outcome {
        Outcome::Done {
            base_repo,
            change_repo,
            affected,
        } => {
            store_packages(&mut tx, check.id, affected).await?;
            let planned = if check.builds {
                plan_builds(&mut tx, check).await?
            } else {
                0
            };
            let unresolvable = affected
                .iter()
                .filter(|a| a.verdict == ResolutionVerdict::UnresolvableWithChange)
                .count();
            let mut note = format!(
                "{} packages affected, {unresolvable} unresolvable with the change",
                affected.len()
            );
            let state = if planned > 0 {
                note.push_str(&format!("; {planned} to build"));
                impact::BUILDING
            } else {
                impact::COMPLETE
            };
            (state, note, Some((*base_repo, *change_repo)))
        }
        Outcome::Wait(note) => (impact::QUEUED, note.clone(), None),
        Outcome::Refused(reason) => (impact::ERROR, reason.clone(), None),
    };
    sqlx::query(
        "UPDATE impact_check
         SET state = $2, note = CASE WHEN $2 IN ('queued', 'error') THEN $3 END,
             claimed_by = NULL, claim_until = NULL,
             finished = CASE WHEN $2 IN ('complete', 'error') THEN now() AT TIME ZONE 'UTC' END,
             base_repo_id = COALESCE($4, base_repo_id),
             change_repo_id = COALESCE($5, change_repo_id)
         WHERE id = $1",
    )
    .bind(check.id)
    .bind(state)
    .bind(&note)
    .bind(repos.map(|r| r.0))
    .bind(repos.and_then(|r| r.1))
    .execute(&mut *tx)
    .await?;
    let waiting_again = state == impact::QUEUED && check.note.as_deref() == Some(note.as_str());
    if !waiting_again {
        impact::enter_state(&mut tx, &ctx.config, check.id, state, Some(&note)).await?;
    }
    tx.commit().await?;
    if state == impact::ERROR {
        tracing::warn!("impact check {}: {note}", check.id);
    }
    Ok(())
}

/// Chooses the packages to build: those that resolve with the change and either did not
/// resolve before or have a changed dependency within the check's depth, nearest first,
/// at most `max_builds`. Returns how many.
async fn plan_builds(tx: &mut sqlx::PgConnection, check: &Claimed) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE impact_check_package ip SET build_planned = true
         FROM (SELECT package_id FROM impact_check_package
               WHERE check_id = $1
                 AND (verdict = 'resolvable-with-change'
                      OR (verdict = 'dependencies-changed' AND distance <= $2))
               ORDER BY distance NULLS LAST, package_id LIMIT $3) chosen
         WHERE ip.check_id = $1 AND ip.package_id = chosen.package_id",
    )
    .bind(check.id)
    .bind(check.depth)
    .bind(i64::from(check.max_builds))
    .execute(tx)
    .await?
    .rows_affected())
}

/// Replaces the check's affected packages and their changes (each distinct change
/// stored once, the packages referring to it with their distances).
async fn store_packages(
    tx: &mut sqlx::PgConnection,
    check_id: i32,
    affected: &[Affected],
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM impact_check_package WHERE check_id = $1")
        .bind(check_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM impact_check_change WHERE check_id = $1")
        .bind(check_id)
        .execute(&mut *tx)
        .await?;
    type Key<'a> = (&'a str, Option<&'a str>, Option<&'a str>);
    let mut change_ids: HashMap<Key<'_>, i32> = HashMap::new();
    // per package, its changes' ids and distances as array literals
    let mut refs = Vec::with_capacity(affected.len());
    let mut distances = Vec::with_capacity(affected.len());
    for a in affected {
        let (mut ids, mut ds) = (Vec::new(), Vec::new());
        for ch in &a.changes {
            let key = (ch.name.as_str(), ch.prev.as_deref(), ch.curr.as_deref());
            let next = i32::try_from(change_ids.len()).context("too many changes")?;
            ids.push(change_ids.entry(key).or_insert(next).to_string());
            ds.push(ch.distance.map_or("NULL".into(), |d| d.to_string()));
        }
        refs.push(format!("{{{}}}", ids.join(",")));
        distances.push(format!("{{{}}}", ds.join(",")));
    }
    let mut distinct: Vec<(Key<'_>, i32)> = change_ids.into_iter().collect();
    distinct.sort_by_key(|(_, id)| *id);
    let ids: Vec<i32> = distinct.iter().map(|(_, id)| *id).collect();
    let names: Vec<&str> = distinct.iter().map(|(k, _)| k.0).collect();
    let prevs: Vec<Option<&str>> = distinct.iter().map(|(k, _)| k.1).collect();
    let currs: Vec<Option<&str>> = distinct.iter().map(|(k, _)| k.2).collect();
    sqlx::query(
        "INSERT INTO impact_check_change (check_id, id, name, prev, curr)
         SELECT $1, i, n, p, c FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])
             AS u(i, n, p, c)",
    )
    .bind(check_id)
    .bind(&ids)
    .bind(&names)
    .bind(&prevs)
    .bind(&currs)
    .execute(&mut *tx)
    .await?;
    let package_ids: Vec<i32> = affected.iter().map(|a| a.package_id).collect();
    let verdicts: Vec<&str> = affected.iter().map(|a| a.verdict.as_str()).collect();
    let nearest: Vec<Option<i16>> = affected.iter().map(|a| a.distance).collect();
    let base_resolved: Vec<bool> = affected.iter().map(|a| a.base.resolved).collect();
    let change_resolved: Vec<bool> = affected.iter().map(|a| a.change.resolved).collect();
    let base_problems: Vec<serde_json::Value> = affected
        .iter()
        .map(|a| serde_json::json!(a.base.problems))
        .collect();
    let change_problems: Vec<serde_json::Value> = affected
        .iter()
        .map(|a| serde_json::json!(a.change.problems))
        .collect();
    sqlx::query(
        "INSERT INTO impact_check_package (check_id, package_id, verdict, distance,
             base_resolved, change_resolved, base_problems, change_problems, change_ids,
             change_distances)
         SELECT $1, p, v, d, br, cr,
                ARRAY(SELECT jsonb_array_elements_text(bp)),
                ARRAY(SELECT jsonb_array_elements_text(cp)), ci::int[], cd::int2[]
         FROM unnest($2::int[], $3::text[], $4::int2[], $5::bool[], $6::bool[], $7::jsonb[],
                     $8::jsonb[], $9::text[], $10::text[])
             AS u(p, v, d, br, cr, bp, cp, ci, cd)",
    )
    .bind(check_id)
    .bind(&package_ids)
    .bind(&verdicts)
    .bind(&nearest)
    .bind(&base_resolved)
    .bind(&change_resolved)
    .bind(&base_problems)
    .bind(&change_problems)
    .bind(&refs)
    .bind(&distances)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
