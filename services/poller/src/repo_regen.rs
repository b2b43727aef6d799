//! Secondary mode's repo regeneration, the polling step of the original's
//! `koschei/plugins/repo_regen_plugin/backend.py`. A secondary-mode collection takes its
//! packages from the secondary Koji but builds on the primary, so each pass makes sure
//! the primary has the collection's tags, build target and build groups, and, when the
//! secondary has a READY repo no primary regeneration was asked for yet, points the
//! primary build tag's external repo at it, starts `newRepo` there and records the
//! `repo_mapping` row the resolver waits for (`koschei_resolver::secondary_repos`).

use anyhow::Context;
use koschei_core::builds::db_int;
use koschei_core::refresh::KojiCollection;
use koschei_core::Backend;
use koschei_koji::{KojiClient, RepoState, TagGroup};

/// What the step did for one collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regen {
    /// The secondary has no READY repo, or its latest one already has a mapping.
    UpToDate,
    /// The primary was asked to regenerate for this secondary repo.
    Requested { secondary_repo: i32, task_id: i32 },
}

/// Runs the step for a secondary-mode collection (call it for those only). An error
/// leaves no mapping behind: the row is written only after `newRepo` gave its task, so
/// the next pass simply tries again.
pub async fn regen_collection(
    backend: &Backend,
    collection: &KojiCollection,
) -> anyhow::Result<Regen> {
    let Backend {
        pool,
        koji: sessions,
        config,
    } = backend;
    if !config.secondary_mode {
        anyhow::bail!(
            "the collection is in secondary mode but no [secondary_koji_config] is configured"
        );
    }
    let primary = &sessions.primary;
    let secondary = sessions.for_collection(true);
    let arches = config.koji_config.build_arches.join(",");
    let arches = Some(arches.as_str()).filter(|a| !a.is_empty());
    for tag in [&collection.dest_tag, &collection.build_tag] {
        if primary.get_tag(tag.as_str()).await?.is_none() {
            tracing::info!(tag, "creating the tag on the primary Koji");
            primary.create_tag(tag, None, arches).await?;
        }
    }
    if primary
        .get_build_target(collection.target.as_str())
        .await?
        .is_none()
    {
        tracing::info!(
            target = collection.target,
            "creating the build target on the primary Koji"
        );
        let groups = secondary
            .get_tag_groups(collection.build_tag.as_str(), None)
            .await?;
        copy_groups(primary, &collection.build_tag, &groups).await?;
        primary
            .create_build_target(
                &collection.target,
                &collection.build_tag,
                &collection.dest_tag,
            )
            .await?;
    }
    let Some(repo) = secondary
        .get_repo(collection.build_tag.as_str(), RepoState::Ready)
        .await?
    else {
        return Ok(Regen::UpToDate);
    };
    let secondary_repo = db_int("secondary repo id", repo.id)?;
    let mapped: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM repo_mapping WHERE secondary_id = $1)")
            .bind(secondary_repo)
            .fetch_one(pool)
            .await?;
    if mapped {
        return Ok(Regen::UpToDate);
    }
    tracing::info!(
        collection = collection.name,
        secondary_repo,
        "requesting a new repo on the primary Koji"
    );
    let url = repo_url(
        &config.secondary_koji_config,
        &collection.build_tag,
        repo.id,
    );
    let task_id = point_build_tag_at(primary, collection, repo.id, &url).await?;
    let task_id = db_int("newRepo task id", task_id)?;
    sqlx::query(
        "INSERT INTO repo_mapping (secondary_id, task_id) VALUES ($1, $2)
         ON CONFLICT (secondary_id) DO NOTHING",
    )
    .bind(secondary_repo)
    .bind(task_id)
    .execute(pool)
    .await?;
    Ok(Regen::Requested {
        secondary_repo,
        task_id,
    })
}

/// The secondary repo's URL for an external repo: `repo_url` of the secondary hub with
/// `{build_tag}`, `{repo_id}` and `{arch}` (Koji's `$arch`) filled in; without it, the
/// standard Koji layout under the secondary's `topurl`.
pub fn repo_url(
    secondary: &koschei_core::config::KojiConfig,
    build_tag: &str,
    repo_id: i64,
) -> String {
    let template = secondary.repo_url.clone().unwrap_or_else(|| {
        format!(
            "{}/repos/{{build_tag}}/{{repo_id}}/{{arch}}",
            secondary.topurl.trim_end_matches('/')
        )
    });
    template
        .replace("{build_tag}", build_tag)
        .replace("{repo_id}", &repo_id.to_string())
        .replace("{arch}", "$arch")
}

/// Copies the secondary build tag's groups and their package lists to the primary (one
/// multicall); any refused call fails the copy, which is then repeated whole next time
/// (Koji takes what is already there as no change).
async fn copy_groups(
    primary: &KojiClient,
    build_tag: &str,
    groups: &[TagGroup],
) -> anyhow::Result<()> {
    for result in primary.add_tag_groups(build_tag, groups).await? {
        result.context("copying the build groups")?;
    }
    Ok(())
}

/// Replaces the primary build tag's external repos with one (`<collection>-<repo id>`,
/// created unless it exists) pointing at `url`, and starts `newRepo` of the tag.
/// Returns the task id.
async fn point_build_tag_at(
    primary: &KojiClient,
    collection: &KojiCollection,
    repo_id: i64,
    url: &str,
) -> anyhow::Result<i64> {
    let tag = collection.build_tag.as_str();
    for old in primary.get_tag_external_repos(tag).await? {
        primary
            .remove_external_repo_from_tag(tag, old.external_repo_id)
            .await?;
    }
    let name = format!("{}-{repo_id}", collection.name);
    let external = match primary.get_external_repo(name.as_str()).await? {
        Some(existing) => existing,
        None => primary.create_external_repo(&name, url).await?,
    };
    primary
        .add_external_repo_to_tag(tag, external.name.as_str(), 0)
        .await?;
    Ok(primary.new_repo(tag).await?)
}

#[cfg(test)]
mod tests {
    use super::repo_url;
    use koschei_core::config::KojiConfig;

    #[test]
    fn the_repo_url_fills_the_template_or_follows_the_koji_layout() {
        let mut secondary = KojiConfig {
            topurl: "https://kojipkgs.example.org/".into(),
            ..KojiConfig::default()
        };
        assert_eq!(
            repo_url(&secondary, "f99-build", 1234),
            "https://kojipkgs.example.org/repos/f99-build/1234/$arch"
        );
        secondary.repo_url =
            Some("https://mirror.example.org/{build_tag}/{repo_id}/{arch}/".into());
        assert_eq!(
            repo_url(&secondary, "f99-build", 1234),
            "https://mirror.example.org/f99-build/1234/$arch/"
        );
    }
}
