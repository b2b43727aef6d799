//! `/stats`: package and build counts, charts of builds per day by outcome
//! and packages by state per collection, and the packages using the most
//! build time (`resource_consumption_stats`, refreshed by the poller).

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::NaiveDateTime;
use koschei_core::installability;
use koschei_core::model::{BuildState, PackageState};
use maud::html;
use sqlx::postgres::types::PgInterval;

use crate::error::AppResult;
use crate::http::context::PageContext;
use crate::http::query::encode;
use crate::render::charts::{self, Series};
use crate::render::installability as render_installability;
use crate::render::layout::{self, Pager, Tab};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/stats", get(stats))
}

/// Rows per page of the resource table.
const RESOURCES_PER_PAGE: i64 = 20;
/// Days shown in the builds-per-day chart.
const DAYS: i64 = 30;

#[derive(sqlx::FromRow)]
struct Scalar {
    refresh_time: Option<NaiveDateTime>,
    packages: i64,
    tracked_packages: i64,
    blocked_packages: i64,
    builds: i64,
    real_builds: i64,
    scratch_builds: i64,
}

/// Build outcomes in chart order: state codes, label, colour.
const OUTCOMES: [(BuildState, &str); 6] = [
    (BuildState::Complete, "#3f9c35"),
    (BuildState::Failed, "#cc0000"),
    (BuildState::Running, "#3c6eb4"),
    (BuildState::InfraFailure, "#f0ab00"),
    (BuildState::TimedOut, "#ec7a08"),
    (BuildState::Canceled, "#8b8d8f"),
];

const STATES: [(PackageState, &str); 6] = [
    (PackageState::Ok, "#3f9c35"),
    (PackageState::Failing, "#cc0000"),
    (PackageState::Unresolved, "#ec7a08"),
    (PackageState::Unknown, "#8b8d8f"),
    (PackageState::Untracked, "#c8c8c8"),
    (PackageState::Blocked, "#4d5258"),
];

fn interval_text(i: &PgInterval) -> String {
    let secs = i.microseconds / 1_000_000 + i64::from(i.days) * 86_400;
    format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

fn interval_secs(i: &PgInterval) -> f64 {
    i.microseconds as f64 / 1e6 + f64::from(i.days) * 86_400.0
}

/// The statistics page.
pub async fn stats(ctx: PageContext) -> AppResult<Response> {
    let pool = &ctx.pool;
    // The poller refreshes scalar_stats; count live until it has.
    let scalar: Scalar = match sqlx::query_as(
        "SELECT refresh_time, packages::int8, tracked_packages::int8, blocked_packages::int8,
                builds::int8, real_builds::int8, scratch_builds::int8 FROM scalar_stats LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    {
        Some(s) => s,
        None => {
            sqlx::query_as(
                "SELECT NULL::timestamp AS refresh_time,
                        (SELECT count(*) FROM package) AS packages,
                        (SELECT count(*) FROM package WHERE tracked) AS tracked_packages,
                        (SELECT count(*) FROM package WHERE blocked) AS blocked_packages,
                        (SELECT count(*) FROM build) AS builds,
                        (SELECT count(*) FROM build WHERE real) AS real_builds,
                        (SELECT count(*) FROM build WHERE NOT real) AS scratch_builds",
            )
            .fetch_one(pool)
            .await?
        }
    };
    let per_day: Vec<(NaiveDateTime, i32, i64)> = sqlx::query_as(
        "SELECT date_trunc('day', started), state, count(*) FROM build
         WHERE started >= date_trunc('day', now() AT TIME ZONE 'UTC') - make_interval(days => $1::int - 1)
         GROUP BY 1, 2",
    )
    .bind(DAYS as i32)
    .fetch_all(pool)
    .await?;
    let today = ctx.now.date();
    let days: Vec<chrono::NaiveDate> = (0..DAYS)
        .rev()
        .map(|d| today - chrono::Duration::days(d))
        .collect();
    let build_series: Vec<Series> = OUTCOMES
        .iter()
        .map(|(outcome, color)| Series {
            name: outcome.as_str().to_string(),
            color,
            values: days
                .iter()
                .map(|d| {
                    per_day
                        .iter()
                        .filter(|(t, s, _)| t.date() == *d && *s == outcome.code())
                        .map(|(_, _, n)| *n as f64)
                        .sum()
                })
                .collect(),
        })
        .collect();
    let by_state: Vec<(i32, String, i64)> = sqlx::query_as(
        "SELECT collection_id, package_state(p), count(*) FROM package p GROUP BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    let state_series: Vec<Series> = STATES
        .iter()
        .map(|(state, color)| Series {
            name: state.as_str().to_string(),
            color,
            values: ctx
                .collections
                .iter()
                .map(|c| {
                    by_state
                        .iter()
                        .filter(|(id, s, _)| *id == c.id && s == state.as_str())
                        .map(|(_, _, n)| *n as f64)
                        .sum()
                })
                .collect(),
        })
        .collect();
    let mut pager = Pager::from_ctx(&ctx, RESOURCES_PER_PAGE)?;
    pager.set_total(
        sqlx::query_scalar("SELECT count(*) FROM resource_consumption_stats")
            .fetch_one(pool)
            .await?,
    )?;
    let resources: Vec<(String, String, Option<PgInterval>, Option<f64>)> = sqlx::query_as(
        r#"SELECT name, arch, "time", time_percentage FROM resource_consumption_stats
           ORDER BY "time" DESC NULLS LAST, name, arch LIMIT $1 OFFSET $2"#,
    )
    .bind(pager.per_page)
    .bind(pager.offset())
    .fetch_all(pool)
    .await?;
    let resource_bars: Vec<(String, f64, String)> = resources
        .iter()
        .take(10)
        .filter_map(|(name, arch, time, _)| {
            let t = time.as_ref()?;
            Some((
                format!("{name} ({arch})"),
                interval_secs(t),
                interval_text(t),
            ))
        })
        .collect();
    let mut installability = Vec::with_capacity(ctx.collections.len());
    {
        let mut conn = pool.acquire().await?;
        for c in &ctx.collections {
            let passes = installability::recent_passes(&mut conn, c.id).await?;
            installability.push((c.name.clone(), passes));
        }
    }
    let day_labels: Vec<String> = days.iter().map(|d| d.format("%m-%d").to_string()).collect();
    let collection_labels: Vec<String> = ctx.collections.iter().map(|c| c.name.clone()).collect();
    let content = html! {
        h1 { "Statistics" }
        p.muted {
            @match scalar.refresh_time {
                Some(t) => { "Last refresh: " (layout::time(&ctx, t)) " UTC" }
                None => "Counted live (the poller has not refreshed the statistics yet).",
            }
        }
        div.cards {
            section.card {
                h2 { "Packages" }
                table.kv {
                    tr { th { "Total" } td.num { (scalar.packages) } }
                    tr { th { "Tracked" } td.num { (scalar.tracked_packages) } }
                    tr { th { "Untracked" } td.num { (scalar.packages - scalar.tracked_packages) } }
                    tr { th { "Active (not blocked)" } td.num { (scalar.packages - scalar.blocked_packages) } }
                    tr { th { "Blocked" } td.num { (scalar.blocked_packages) } }
                }
            }
            section.card {
                h2 { "Builds" }
                table.kv {
                    tr { th { "Total" } td.num { (scalar.builds) } }
                    tr { th { "Real" } td.num { (scalar.real_builds) } }
                    tr { th { "Scratch" } td.num { (scalar.scratch_builds) } }
                }
            }
            section.card.wide #builds-per-day {
                h2 { "Builds per day by outcome" }
                (charts::stacked_bars(&format!("Builds started per day, last {DAYS} days"), &day_labels, &build_series))
            }
            section.card.wide #packages-by-state {
                h2 { "Packages by state per collection" }
                (charts::stacked_bars("Packages by state", &collection_labels, &state_series))
            }
            @if let Some(chart) = render_installability::uninstallable_chart(&installability) {
                section.card.wide #installability {
                    h2 { "Uninstallable binary packages" }
                    (chart)
                }
            }
            section.card.wide #resources {
                h2 { "Packages using most resources" }
                @if !resource_bars.is_empty() {
                    (charts::horizontal_bars("Koji task time", &resource_bars))
                }
                table.resources {
                    thead { tr { th { "Package" } th { "Arch" } th.num { "Time" } th.num { "‱ of total" } } }
                    tbody {
                        @for (name, arch, time, pct) in &resources {
                            tr {
                                td { a href={ "/package/" (encode(name)) } { (name) } }
                                td { (arch) }
                                td.num { (time.as_ref().map(interval_text).unwrap_or_default()) }
                                td.num { (pct.map(|p| format!("{:.2}", p * 10_000.0)).unwrap_or_default()) }
                            }
                        }
                        @if resources.is_empty() { tr { td colspan="4" .muted { "No data yet." } } }
                    }
                }
                (pager.render(&ctx, "Packages"))
            }
        }
    };
    Ok(layout::page(&ctx, "statistics", Tab::Stats, content).into_response())
}
