//! Group tracking helpers (`refresh-group`, `refresh-user-group`,
//! `refresh-distgit-group`, `track-group`): the original's `bin/koschei-*` scripts
//! over `koschei_core::group_sync`. Each change is audited like `edit-group`'s.

use anyhow::Result;
use koschei_core::audit::Actor;
use koschei_core::group_sync;
use koschei_core::pagure::PagureClient;
use koschei_core::Config;
use sqlx::PgConnection;

use crate::cli::Command;

/// Runs one group-sync command; returns the lines to print besides the audit entries.
pub async fn run(
    conn: &mut PgConnection,
    actor: &Actor,
    config: &Config,
    command: Command,
) -> Result<String> {
    let bz_url = &config.pagure.bz_url;
    let (names, source) = match command {
        Command::RefreshGroup { group, regex } => (
            group_sync::refresh_group(conn, actor, &group, &regex).await?,
            format!("matching {regex}"),
        ),
        Command::RefreshUserGroup {
            group,
            user,
            append,
        } => {
            let pagure = PagureClient::new(&config.pagure)?;
            let names =
                group_sync::refresh_user_group(conn, actor, &pagure, bz_url, &group, &user, append)
                    .await?;
            (names, format!("of {user} in dist-git"))
        }
        Command::RefreshDistgitGroup {
            group,
            distgit_group,
            append,
        } => {
            let pagure = PagureClient::new(&config.pagure)?;
            let names = group_sync::refresh_distgit_group(
                conn,
                actor,
                &pagure,
                bz_url,
                &group,
                &distgit_group,
                append,
            )
            .await?;
            (names, format!("of @{distgit_group} in dist-git"))
        }
        Command::TrackGroup { group } => {
            let tracked = group_sync::track_group(conn, actor, &group).await?;
            return Ok(format!("{} packages now tracked", tracked.len()));
        }
        other => unreachable!("not a group-sync command: {other:?}"),
    };
    Ok(format!("{} packages {source}", names.len()))
}
