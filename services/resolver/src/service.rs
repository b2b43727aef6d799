//! One iteration of the resolver service: for every collection, plan (new repo, new
//! packages), process the shared work queue, carry out queued impact checks, resolve
//! pending builds, then check the installability of a new repo's binaries and whether
//! finished rebuilds would fix those that do not install.

use crate::build_resolver::resolve_builds;
use crate::context::Context;
use crate::repo_resolver::{plan_collection, process_work};
use crate::{impact_check, installability, rebuild_check};

/// Runs the repo resolver and the build resolver once over all collections. A failing
/// collection does not stop the others; the first error is returned at the end so that
/// the service loop backs off.
pub async fn iteration(ctx: &Context) -> anyhow::Result<()> {
    let mut first_error: Option<anyhow::Error> = None;
    let collections = ctx.collections().await?;
    for c in &collections {
        if let Err(e) = plan_collection(ctx, c).await {
            tracing::error!("{}: repo resolution planning failed: {e:#}", c.name);
            first_error.get_or_insert(e);
        }
    }
    if let Err(e) = process_work(ctx, None).await {
        tracing::error!("repo resolution failed: {e:#}");
        first_error.get_or_insert(e);
    }
    if let Err(e) = impact_check::run_queued(ctx).await {
        tracing::error!("impact checks failed: {e:#}");
        first_error.get_or_insert(e);
    }
    for c in &collections {
        match resolve_builds(ctx, c).await {
            Ok(stats) if stats.resolved + stats.unresolved > 0 => {
                tracing::info!("{}: builds {stats:?}", c.name)
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!("{}: build resolution failed: {e:#}", c.name);
                first_error.get_or_insert(e);
            }
        }
    }
    for c in &collections {
        if let Err(e) = installability::check_collection(ctx, c).await {
            tracing::error!("{}: installability check failed: {e:#}", c.name);
            first_error.get_or_insert(e);
        }
        if let Err(e) = rebuild_check::check_collection(ctx, c).await {
            tracing::error!("{}: rebuild check failed: {e:#}", c.name);
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
