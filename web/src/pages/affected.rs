//! `/affected-by/<dependency>`: packages possibly broken by a dependency
//! change (the original's `affected_by` in `koschei/frontend/views.py`):
//! builds that failed after applying a change of the dependency within the
//! given EVR range, in tracked packages whose previous build did not fail.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::NaiveDateTime;
use koschei_core::evr::Evr;
use koschei_core::model::BuildState;
use maud::html;

use crate::error::{AppError, AppResult};
use crate::http::context::PageContext;
use crate::http::query::encode;
use crate::render::layout::{self, Pager, Tab};
use crate::render::state_badges;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/affected-by/{name}", get(affected_by))
}

#[derive(sqlx::FromRow)]
struct Affected {
    name: String,
    state: String,
    build_id: i32,
    started: NaiveDateTime,
    distance: Option<i32>,
    /// Number of affected packages on all pages.
    total: i64,
}

fn evr_arg(ctx: &PageContext, n: u8) -> AppResult<Evr> {
    let get = |k: &str| {
        ctx.query
            .get_nonempty(&format!("{k}{n}"))
            .ok_or_else(|| AppError::BadRequest(format!("Missing argument {k}{n}")))
    };
    let epoch = get("epoch")?
        .parse::<i32>()
        .map_err(|_| AppError::BadRequest(format!("Invalid argument epoch{n}")))?;
    Ok(Evr::new(Some(epoch), get("version")?, get("release")?))
}

async fn affected_by(ctx: PageContext, Path(dep): Path<String>) -> AppResult<Response> {
    if ctx.current.len() != 1 {
        return Err(AppError::BadRequest(
            "Select exactly one collection (collection=…)".into(),
        ));
    }
    let collection = ctx.current[0].clone();
    let (evr1, evr2) = (evr_arg(&ctx, 1)?, evr_arg(&ctx, 2)?);
    let mut pager = Pager::from_ctx(&ctx, ctx.config.frontend.packages_per_page)?;
    let rows: Vec<Affected> = sqlx::query_as(
        "SELECT p.name, package_state(p) AS state, b.id AS build_id, b.started, ch.distance,
                count(*) OVER () AS total
         FROM applied_change ch
         JOIN dependency pd ON pd.id = ch.prev_dep_id
         JOIN dependency cd ON cd.id = ch.curr_dep_id
         JOIN build b ON b.id = ch.build_id
         JOIN package p ON p.id = b.package_id
         WHERE pd.name = $1 AND cd.name = $1
           AND p.collection_id = $2 AND p.tracked AND NOT p.blocked
           AND b.state = $11
           AND ((rpmvercmp_evr(pd.epoch, pd.version, pd.release, $3, $4, $5) > 0
                 AND rpmvercmp_evr(pd.epoch, pd.version, pd.release, $6, $7, $8) < 0)
             OR (rpmvercmp_evr(cd.epoch, cd.version, cd.release, $3, $4, $5) > 0
                 AND rpmvercmp_evr(cd.epoch, cd.version, cd.release, $6, $7, $8) < 0)
             OR (rpmvercmp_evr(pd.epoch, pd.version, pd.release, $3, $4, $5) <= 0
                 AND rpmvercmp_evr(cd.epoch, cd.version, cd.release, $6, $7, $8) >= 0))
           AND (SELECT prev.state FROM build prev
                WHERE prev.package_id = b.package_id AND build_time(prev) < build_time(b)
                  AND prev.state = ANY($12)
                ORDER BY build_time(prev) DESC LIMIT 1) = $13
         ORDER BY ch.distance NULLS LAST, build_time(b) DESC
         LIMIT $9 OFFSET $10",
    )
    .bind(&dep)
    .bind(collection.id)
    .bind(evr1.epoch)
    .bind(&evr1.version)
    .bind(&evr1.release)
    .bind(evr2.epoch)
    .bind(&evr2.version)
    .bind(&evr2.release)
    .bind(pager.per_page)
    .bind(pager.offset())
    .bind(BuildState::Failed)
    .bind(BuildState::FINISHED)
    .bind(BuildState::Complete)
    .fetch_all(&ctx.pool)
    .await?;
    pager.set_total(rows.first().map_or(0, |r| r.total))?;
    let direction = if evr1.rpm_cmp(&evr2).is_le() {
        "upgrade"
    } else {
        "downgrade"
    };
    let content = html! {
        h1 { "Packages affected by " (direction) " of " (dep) }
        p { (dep) " " (evr1.to_string()) " → " (evr2.to_string()) " in " (collection.display_name) }
        div.alert.alert-info {
            "These packages failed to build after this change while their previous build succeeded. "
            "The change may not be the cause: check the build logs."
        }
        table.affected {
            thead { tr { th { "Package" } th { "State" } th { "Build" } th.num { "Distance" } th { "Build time" } } }
            tbody {
                @for r in &rows {
                    tr {
                        td { a href={ "/package/" (encode(&r.name)) "?collection=" (encode(&collection.name)) } { (r.name) } }
                        td { (state_badges::state_icon(&r.state)) }
                        td { a href={ "/build/" (r.build_id) } { (r.build_id) } }
                        td.num { (r.distance.map(|d| d.to_string()).unwrap_or_default()) }
                        td { (layout::time(&ctx, r.started)) }
                    }
                }
                @if rows.is_empty() { tr { td colspan="5" .muted { "No affected packages found." } } }
            }
        }
        (pager.render(&ctx, "Packages"))
    };
    Ok(layout::page(
        &ctx,
        &format!("{dep} change report"),
        Tab::Packages,
        content,
    )
    .into_response())
}
