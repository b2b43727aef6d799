//! The build group (base buildroot) of a repo, as of the repo's creation (`get_build_group`
//! in the original's `koschei/backend/koji_util.py`).

use crate::client::KojiClient;
use crate::error::KojiResult;
use crate::model::TagGroup;

/// Package names of group `group_name` that are neither blocked nor of a type other than
/// `default`/`mandatory`; `None` when the group does not exist.
pub fn group_packages(groups: &[TagGroup], group_name: &str) -> Option<Vec<String>> {
    let group = groups.iter().find(|g| g.name == group_name)?;
    Some(
        group
            .packagelist
            .iter()
            .filter(|p| !p.blocked && matches!(p.kind.as_deref(), Some("default" | "mandatory")))
            .map(|p| p.package.clone())
            .collect(),
    )
}

/// `get_build_group(session, tag, group, repo_id)`: `repoInfo(repo_id)`, then
/// `getTagGroups(tag, event=create_event)`. `None` when the repo or group is missing.
pub async fn get_build_group(
    client: &KojiClient,
    tag: &str,
    group_name: &str,
    repo_id: i64,
) -> KojiResult<Option<Vec<String>>> {
    let Some(repo) = client.repo_info(repo_id).await? else {
        return Ok(None);
    };
    let groups = client.get_tag_groups(tag, Some(repo.create_event)).await?;
    Ok(group_packages(&groups, group_name))
}
