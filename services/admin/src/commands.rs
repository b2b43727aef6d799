//! Execution of the admin commands. Each command runs in one transaction
//! that is committed only when the whole command succeeded, so a refused
//! command changes nothing.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use koschei_core::audit::{get_or_create_user, Actor};
use koschei_core::collections::{self, find_collection};
use koschei_core::error::DataError;
use koschei_core::koji_sessions::KojiSessions;
use koschei_core::model::LogEnvironment;
use koschei_core::packages::{self, PackageAttr};
use koschei_core::{
    cleanup, consistency, db, groups, impact, inspect, installability, notices, Config,
};
use koschei_scheduler::decision::Scheduler;
use sqlx::PgConnection;

use crate::cli::{Cli, Command, GroupContent, ImpactCheckCommand};
use crate::collection_commands::{self, CommitThenFail, NewRelease};
use crate::{group_sync_commands, migrate};

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Psql { args } => return exec_psql(&config.database_url(), &args),
        Command::Depsolve(args) => {
            println!("{}", crate::depsolve::run(args).await?.trim_end());
            return Ok(());
        }
        _ => {}
    }
    let pool = db::connect(&config, 2).await?;
    if let Command::CreateDb = cli.command {
        db::migrate(&pool, config.unpriv_db_username.as_deref()).await?;
        println!("Database schema is up to date");
        return Ok(());
    }
    if let Command::MigrateFromKoschei(args) = &cli.command {
        db::migrate(&pool, config.unpriv_db_username.as_deref()).await?;
        let counts =
            migrate::migrate_from_koschei(&pool, &args.source, args.replace, &admin_name()).await?;
        println!("{}", migrate::render(&counts).trim_end());
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    let actor = admin_actor(&mut tx).await?;
    let last_entry: i32 = sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM log_entry")
        .fetch_one(&mut *tx)
        .await?;
    let result = match cli.command {
        Command::CreateCollection { .. }
        | Command::EditCollection { .. }
        | Command::BranchCollection { .. }
        | Command::ForkCollection { .. }
        | Command::SubmitBuild { .. } => {
            let sessions = KojiSessions::connect(&config).await?;
            execute_with_koji(&mut tx, &actor, &config, &pool, &sessions, cli.command).await
        }
        command => execute(&mut tx, &actor, &config, command).await,
    };
    let (output, failure) = match result {
        Ok(output) => (output, None),
        Err(e) => match e.downcast::<CommitThenFail>() {
            Ok(partial) => (partial.output, Some(partial.error)),
            Err(e) => return Err(e),
        },
    };
    let logged = audit_entries_since(&mut tx, &actor, last_entry).await?;
    tx.commit().await?;
    print_output(&logged, &output);
    match failure {
        Some(error) => bail!(error),
        None => Ok(()),
    }
}

/// The messages this command wrote to the audit log, in order.
async fn audit_entries_since(
    conn: &mut PgConnection,
    actor: &Actor,
    last_entry: i32,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT message FROM log_entry WHERE id > $1 AND user_id = $2 AND environment = 'admin'
         ORDER BY id",
    )
    .bind(last_entry)
    .bind(actor.user_id)
    .fetch_all(conn)
    .await?)
}

/// Prints every audit entry the command wrote, as the original's
/// `log_user_action` does (koschei/admin.py), then the lines of its own
/// output that are not among them.
fn print_output(logged: &[String], output: &str) {
    for message in logged {
        println!("{message}");
    }
    for line in output.trim_end().lines() {
        if !logged.iter().any(|m| m == line) {
            println!("{line}");
        }
    }
}

/// The audited user name: `SUDO_USER`, else the OS user.
fn admin_name() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "admin".to_string())
}

/// The audit identity of [`admin_name`].
async fn admin_actor(conn: &mut PgConnection) -> Result<Actor> {
    Ok(Actor {
        environment: LogEnvironment::Admin,
        user_id: Some(get_or_create_user(conn, &admin_name()).await?),
    })
}

async fn execute(
    conn: &mut PgConnection,
    actor: &Actor,
    config: &Config,
    command: Command,
) -> Result<String> {
    Ok(match command {
        Command::DeleteCollection { name, force } => {
            collection_commands::delete(conn, actor, &name, force).await?
        }
        Command::Resolve {
            names,
            collection,
            all,
        } => collection_commands::resolve(conn, actor, &names, &collection, all).await?,
        Command::CreateDb
        | Command::MigrateFromKoschei(_)
        | Command::Psql { .. }
        | Command::Depsolve(_)
        | Command::CreateCollection { .. }
        | Command::EditCollection { .. }
        | Command::BranchCollection { .. }
        | Command::ForkCollection { .. }
        | Command::SubmitBuild { .. } => unreachable!("dispatched in run()"),
        command @ (Command::RefreshGroup { .. }
        | Command::RefreshUserGroup { .. }
        | Command::RefreshDistgitGroup { .. }
        | Command::TrackGroup { .. }) => {
            group_sync_commands::run(conn, actor, config, command).await?
        }
        Command::Cleanup { older_than } => {
            let report = cleanup::cleanup(conn, actor, older_than).await?;
            format!(
                "Cleanup: Deleted {} builds\nCleanup: Deleted {} resolution changes",
                report.builds, report.resolution_changes
            )
        }
        Command::SetNotice { content } => {
            notices::set_notice(conn, actor, &content).await?;
            format!("Admin notice added: {}", content.trim())
        }
        Command::ClearNotice => {
            notices::clear_notice(conn, actor).await?;
            "Admin notice cleared".into()
        }
        Command::AddPkg {
            names,
            all,
            collection,
        } => {
            let collection = find_collection(conn, &collection).await?;
            let names = if all {
                sqlx::query_scalar("SELECT name FROM package WHERE collection_id = $1 AND NOT tracked ORDER BY name")
                    .bind(collection.id)
                    .fetch_all(&mut *conn)
                    .await?
            } else {
                names
            };
            let added = packages::track_packages(conn, actor, &collection, &names).await?;
            if added.is_empty() {
                "No package changed: all were tracked already".into()
            } else {
                String::new()
            }
        }
        Command::AddGroup {
            group,
            pkgs,
            maintainers,
        } => {
            let g = match groups::find_group(conn, &group).await {
                Ok(g) => g,
                Err(DataError::GroupNotFound(_)) => {
                    groups::create_group(conn, actor, &group).await?
                }
                Err(e) => return Err(e.into()),
            };
            if !pkgs.is_empty() {
                groups::set_group_content(conn, actor, &g, &pkgs, false).await?;
            }
            if !maintainers.is_empty() {
                groups::set_group_maintainers(conn, actor, &g, &maintainers, false).await?;
            }
            String::new()
        }
        Command::SetPriority {
            mut args,
            static_priority,
            collection,
        } => {
            let raw = args.pop().expect("clap requires two values");
            let field = if static_priority { "static" } else { "manual" };
            let value = packages::parse_priority(&raw)
                .with_context(|| format!("invalid priority value {raw:?} ({field} priority)"))?;
            let collection = find_collection(conn, &collection).await?;
            let found = packages::find_packages(conn, &collection, &args).await?;
            for p in &found {
                let attr = if static_priority {
                    PackageAttr::StaticPriority(value)
                } else {
                    PackageAttr::ManualPriority(value)
                };
                packages::set_attribute(conn, actor, &collection, p, attr).await?;
            }
            String::new()
        }
        Command::SetArchOverride {
            name,
            arch_override,
            collection,
            group,
        } => {
            let value =
                packages::parse_arch_override(&arch_override, &config.koji_config.build_arches)?;
            set_arch_override(conn, actor, &name, value, collection.as_deref(), group).await?
        }
        Command::CreateGroup {
            name,
            content,
            maintainers,
        } => {
            let names = read_content(&content)?;
            if content.content_from_file.is_some() && names.is_empty() {
                bail!(DataError::GroupContentEmpty);
            }
            let g = groups::create_group(conn, actor, &name).await?;
            if !names.is_empty() {
                groups::set_group_content(conn, actor, &g, &names, false).await?;
            }
            if !maintainers.is_empty() {
                groups::set_group_maintainers(conn, actor, &g, &maintainers, false).await?;
            }
            format!("Group {} created", g.full_name())
        }
        Command::EditGroup {
            current_name,
            new_name,
            new_namespace,
            make_global,
            content,
        } => {
            let g = groups::find_group(conn, &current_name).await?;
            let names = read_content(&content)?;
            if content.content_from_file.is_some() && names.is_empty() && !content.append {
                bail!(DataError::GroupContentEmpty);
            }
            let namespace = if make_global {
                Some(None)
            } else {
                new_namespace.as_deref().map(Some)
            };
            let g = groups::rename_group(conn, actor, &g, new_name.as_deref(), namespace).await?;
            if content.content_from_file.is_some() {
                groups::set_group_content(conn, actor, &g, &names, content.append).await?;
            }
            String::new()
        }
        Command::CreateCollectionGroup {
            name,
            display_name,
            contents,
        } => {
            collections::create_collection_group(conn, actor, &name, &display_name, &contents)
                .await?;
            format!("Collection group {name} created")
        }
        Command::EditCollectionGroup {
            name,
            display_name,
            contents,
        } => {
            collections::edit_collection_group(
                conn,
                actor,
                &name,
                display_name.as_deref(),
                contents.as_deref(),
            )
            .await?;
            format!("Collection group {name} modified")
        }
        Command::DeleteCollectionGroup { name } => {
            collections::delete_collection_group(conn, actor, &name).await?;
            format!("Collection group {name} deleted")
        }
        Command::Check => {
            let violations = consistency::check(conn, config).await?;
            if !violations.is_empty() {
                for (invariant, violation) in &violations {
                    println!("{invariant}: {violation}");
                }
                bail!(
                    "{} violations of the database's invariants",
                    violations.len()
                );
            }
            "The database is consistent".to_owned()
        }
        Command::Package {
            name,
            collection,
            json,
            builds,
        } => {
            let report =
                inspect::package_report(conn, &name, &collection, &config.priorities, builds)
                    .await?;
            json_or_text(&report, json, inspect::PackageReport::render_text)?
        }
        Command::Installability {
            package: Some(package),
            collection,
            json,
        } => {
            let report =
                installability::package_installability(conn, &package, &collection).await?;
            json_or_text(
                &report,
                json,
                installability::PackageInstallability::render_text,
            )?
        }
        Command::Installability {
            package: None,
            collection,
            json,
        } => {
            let report = installability::collection_installability(conn, &collection).await?;
            json_or_text(
                &report,
                json,
                installability::CollectionInstallability::render_text,
            )?
        }
        Command::ImpactCheck(command) => impact_check(conn, actor, config, command).await?,
    })
}

/// Runs an `impact-check` command.
async fn impact_check(
    conn: &mut PgConnection,
    actor: &Actor,
    config: &Config,
    command: ImpactCheckCommand,
) -> Result<String> {
    Ok(match command {
        ImpactCheckCommand::Create {
            collection,
            side_tag,
            repo,
            depth,
            max_builds,
            no_builds,
        } => {
            let new = impact::NewImpactCheck {
                collection,
                side_tag,
                repo_url: repo,
                depth,
                max_builds,
                builds: no_builds.then_some(false),
            };
            let id = impact::create(conn, &config.impact, actor, &new).await?;
            format!("{id}")
        }
        ImpactCheckCommand::Show { id, json } => {
            let report = impact::report(conn, id).await?;
            json_or_text(&report, json, impact::ImpactReport::render_text)?
        }
        ImpactCheckCommand::List { limit, json } => {
            let checks = impact::list(conn, limit).await?;
            let text = |checks: &Vec<impact::ImpactCheck>| {
                checks.iter().map(|c| c.render_line() + "\n").collect()
            };
            json_or_text(&checks, json, text)?
        }
    })
}

/// A report as pretty JSON (`--json`) or as its text.
fn json_or_text<T: serde::Serialize>(
    report: &T,
    json: bool,
    text: fn(&T) -> String,
) -> serde_json::Result<String> {
    if json {
        serde_json::to_string_pretty(report)
    } else {
        Ok(text(report))
    }
}

/// Runs the commands that need Koji.
async fn execute_with_koji(
    conn: &mut PgConnection,
    actor: &Actor,
    config: &Config,
    pool: &sqlx::PgPool,
    sessions: &KojiSessions,
    command: Command,
) -> Result<String> {
    Ok(match command {
        Command::CreateCollection { name, settings } => {
            collection_commands::create(conn, actor, sessions, &name, &settings).await?
        }
        Command::EditCollection {
            name,
            new_name,
            settings,
            resume,
        } => {
            collection_commands::edit(
                conn,
                actor,
                sessions,
                &name,
                new_name.as_deref(),
                &settings,
                resume,
            )
            .await?
        }
        Command::BranchCollection {
            master_collection,
            new_name,
            display_name,
            target,
            dest_tag,
            bugzilla_version,
        } => {
            let release = NewRelease {
                name: &new_name,
                display_name: &display_name,
                target: &target,
                dest_tag: dest_tag.as_deref(),
                bugzilla_version: bugzilla_version.as_deref(),
            };
            collection_commands::branch(conn, actor, sessions, &master_collection, &release).await?
        }
        Command::ForkCollection {
            master_collection,
            new_name,
            display_name,
            target,
            dest_tag,
        } => {
            let release = NewRelease {
                name: &new_name,
                display_name: &display_name,
                target: &target,
                dest_tag: dest_tag.as_deref(),
                bugzilla_version: None,
            };
            collection_commands::fork(conn, actor, sessions, &master_collection, &release).await?
        }
        Command::SubmitBuild { names, collection } => {
            let mut scheduler = Scheduler::new(pool.clone(), sessions.clone(), config.clone());
            collection_commands::submit_build(
                conn,
                actor,
                &mut scheduler,
                &names,
                collection.as_deref(),
            )
            .await?
        }
        _ => unreachable!("only Koji commands are dispatched here"),
    })
}

/// Sets the arch override of a package or a group's packages, in one
/// collection or in all.
async fn set_arch_override(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    value: Option<String>,
    collection: Option<&str>,
    group: bool,
) -> Result<String> {
    let base_names = if group {
        let g = groups::find_group(conn, name).await?;
        groups::group_package_names(conn, &g).await?
    } else {
        vec![name.to_string()]
    };
    let targets = match collection {
        Some(c) => vec![find_collection(conn, c).await?],
        None => collections::all_collections(conn).await?,
    };
    let mut changed = 0;
    for c in &targets {
        // A package named explicitly in one collection must exist there;
        // across collections or for a group, missing ones are skipped.
        let found = if collection.is_some() && !group {
            packages::find_packages(conn, c, &base_names).await?
        } else {
            packages::packages_named(conn, c.id, &base_names).await?
        };
        for p in &found {
            if packages::set_attribute(conn, actor, c, p, PackageAttr::ArchOverride(value.clone()))
                .await?
            {
                changed += 1;
            }
        }
    }
    if changed == 0 && !group {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM package WHERE name = $1)")
                .bind(name)
                .fetch_one(&mut *conn)
                .await?;
        if !exists {
            bail!(DataError::PackagesDontExist(vec![name.to_string()]));
        }
    }
    Ok(if changed == 0 {
        "No package changed".to_string()
    } else {
        String::new()
    })
}

/// Reads whitespace-separated names from the content file (or stdin).
fn read_content(content: &GroupContent) -> Result<Vec<String>> {
    let Some(path) = &content.content_from_file else {
        return Ok(Vec::new());
    };
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text.split_whitespace().map(str::to_string).collect())
}

/// Replaces this process with psql on the database. The password goes
/// through `PGPASSWORD` (readable only by the user), never the command line
/// (readable by every local user).
fn exec_psql(url: &str, args: &[String]) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let (url, password) = split_password(url)?;
    let mut cmd = std::process::Command::new("psql");
    cmd.arg(url).args(args);
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    let err = cmd.exec();
    Err(anyhow::anyhow!("cannot run psql: {err}"))
}

/// A database URL without its password (user info or `password` query
/// parameter), and the decoded password.
fn split_password(raw: &str) -> Result<(String, Option<String>)> {
    let mut url = url::Url::parse(raw).context("invalid database URL")?;
    let decode = |p: &str| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut password = url.password().map(decode);
    // Cannot fail: a URL with a password has a host.
    let _ = url.set_password(None);
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if let Some((_, p)) = pairs.iter().find(|(k, _)| k == "password") {
        password = Some(p.clone());
        let rest: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "password").collect();
        if rest.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(rest);
        }
    }
    Ok((url.to_string(), password))
}
