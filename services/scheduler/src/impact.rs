//! Submitting the builds of impact checks (`koschei_core::impact_builds`): one per
//! decision while fewer than their share of `max_builds` run, on the same Koji session
//! and with the same load check as ordinary rebuilds. The build is a scratch build of the
//! package's latest tagged SRPM, in the side tag's target (the change) or the
//! collection's (the baseline), or from the compared repo itself with
//! `build_from_repo_id`. Koji's refusal is recorded as an infrastructure failure of that
//! attempt (retried with back-off); a transport failure fails the decision, which is
//! made again.

use koschei_core::builds::{scratch_build, ScratchBuild};
use koschei_core::impact_builds::{self, PlannedBuild};
use koschei_koji::load::koji_load;
use koschei_koji::xmlrpc::FaultKind;
use koschei_koji::KojiError;
use sqlx::PgConnection;

use crate::decision::{Decision, Scheduler};

impl Scheduler {
    /// Submits the next impact build, if one is due and Koji is not too busy.
    pub(crate) async fn submit_impact_build(
        &mut self,
        conn: &mut PgConnection,
    ) -> anyhow::Result<Option<Decision>> {
        let Some(build) = impact_builds::next(conn, &self.config).await? else {
            return Ok(None);
        };
        let tag_arches = self.tag_arches(&build.build_tag).await?;
        let threshold = self.config.koji_config.load_threshold;
        if threshold < 1.0 {
            let load = koji_load(&self.sessions.primary, &tag_arches, &tag_arches).await?;
            if load > threshold {
                return Ok(Some(Decision::KojiOverloaded { load }));
            }
        }
        let submitted = match self.submit(&build).await {
            Ok(task_id) => Ok(task_id),
            // the first attempt of a retried call may have reached Koji: decide again
            Err(e) if e.fault_kind() == Some(FaultKind::RetryError) => return Err(e.into()),
            Err(e) if e.fault().is_some() => Err(format!("Koji refused the build: {e}")),
            Err(e) => return Err(e.into()),
        };
        let (task_id, refusal) = match submitted {
            Ok(Some(task_id)) => (Some(task_id), None),
            Ok(None) => (
                None,
                Some(format!(
                    "no SRPM of {} is tagged in {}",
                    build.package, build.dest_tag
                )),
            ),
            Err(reason) => (None, Some(reason)),
        };
        impact_builds::record_submitted(conn, &self.config, &build, task_id, refusal.as_deref())
            .await?;
        match &refusal {
            Some(reason) => tracing::warn!(
                check = build.check_id,
                package = %build.package,
                side = build.side.as_str(),
                "impact build not submitted: {reason}"
            ),
            None => tracing::info!(
                check = build.check_id,
                package = %build.package,
                side = build.side.as_str(),
                task_id,
                "submitted impact build"
            ),
        }
        Ok(Some(Decision::ImpactBuild {
            check_id: build.check_id,
            package: build.package.clone(),
            side: build.side.as_str(),
            task_id,
        }))
    }

    /// Asks Koji for the scratch build; `None` when the package has no SRPM to build.
    async fn submit(&self, build: &PlannedBuild) -> Result<Option<i64>, KojiError> {
        let scratch = ScratchBuild {
            name: &build.package,
            dest_tag: &build.dest_tag,
            target: &build.target,
            repo_id: build.repo_id,
            secondary_mode: build.secondary_mode,
            arch_override: build.arch_override.as_deref(),
        };
        let submitted = scratch_build(&self.sessions, &self.config, &scratch).await?;
        Ok(submitted.map(|(_, task_id)| task_id))
    }
}
