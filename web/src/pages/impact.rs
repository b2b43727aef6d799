//! Impact checks ("what would this side tag break?"): `/impact-checks` (the newest checks
//! and, for logged-in users, the form queuing one) and `/impact-checks/<id>` (a check's
//! report). The resolver and the scheduler carry checks out; the web only reads them and
//! queues new ones through `koschei_core::impact::create`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use koschei_core::config::Config;
use koschei_core::error::DataError;
use koschei_core::impact::{self, ImpactCheck, ImpactReport, NewImpactCheck};
use sqlx::PgPool;

use crate::error::{AppError, AppResult};
use crate::http::context::PageContext;
use crate::http::forms::FormData;
use crate::http::session::{FlashKind, User};
use crate::render::impact::{self as render, CountsSummary, NewCheckForm};
use crate::render::layout::{self, Tab};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/impact-checks", get(list).post(create))
        .route("/impact-checks/{id}", get(detail))
}

/// Checks listed (pages and API).
pub const LISTED: i64 = 100;

/// A check's report (at most `limit` affected packages); 404 for an id that is not a
/// check's.
pub async fn load_report(pool: &PgPool, id: &str, limit: Option<i64>) -> AppResult<ImpactReport> {
    let not_found = || AppError::NotFound(format!("Impact check not found: {id}"));
    let id: i32 = id.parse().map_err(|_| not_found())?;
    let mut conn = pool.acquire().await?;
    match impact::report_listing(&mut conn, id, limit).await {
        Ok(report) => Ok(report),
        Err(DataError::Db(e)) => Err(e.into()),
        // the only refusal of `report`: no such check
        Err(_) => Err(not_found()),
    }
}

/// Queues a check on behalf of `user`; the core's refusal (invalid options, unknown
/// collection) as `Err(message)`.
pub async fn queue(
    pool: &PgPool,
    config: &Config,
    user: &User,
    new: &NewImpactCheck,
) -> AppResult<Result<i32, String>> {
    let mut conn = pool.acquire().await?;
    match impact::create(&mut conn, &config.impact, &user.actor(), new).await {
        Ok(id) => Ok(Ok(id)),
        Err(DataError::Db(e)) => Err(e.into()),
        Err(refused) => Ok(Err(refused.to_string())),
    }
}

/// The newest checks with their counts.
async fn newest(pool: &PgPool) -> AppResult<Vec<(ImpactCheck, CountsSummary)>> {
    let mut conn = pool.acquire().await?;
    let checks = impact::list(&mut conn, LISTED).await?;
    let ids: Vec<i32> = checks.iter().map(|c| c.id).collect();
    let counts: Vec<(i32, i64, i64, i64)> = sqlx::query_as(
        "SELECT check_id, count(*),
                count(*) FILTER (WHERE verdict = 'unresolvable-with-change'),
                count(*) FILTER (WHERE build_verdict = 'regression')
         FROM impact_check_package WHERE check_id = ANY($1) GROUP BY check_id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(checks
        .into_iter()
        .map(|c| {
            let summary = counts.iter().find(|row| row.0 == c.id).map_or_else(
                CountsSummary::default,
                |row| CountsSummary {
                    affected: row.1,
                    unresolvable_with_change: row.2,
                    regressions: row.3,
                },
            );
            (c, summary)
        })
        .collect())
}

/// The list page, with the form (holding `form`'s values) for logged-in users.
async fn list_page(ctx: &PageContext, form: &NewCheckForm) -> AppResult<Response> {
    let checks = newest(&ctx.pool).await?;
    let content = maud::html! {
        h1 { "Impact checks" }
        p {
            "What would a Koji side tag or an extra repository (a Copr project's, say) break? "
            "A check compares the resolution of the collection's tracked packages with and "
            "without the change, and, for a side tag, builds the affected ones in it."
        }
        @if ctx.user.is_some() { (render::new_check_form(ctx, form)) }
        section.card.wide #checks {
            h2 { "Newest checks" }
            (render::list_table(ctx, &checks))
        }
    };
    Ok(layout::page(ctx, "Impact checks", Tab::ImpactChecks, content).into_response())
}

async fn list(ctx: PageContext) -> AppResult<Response> {
    let form = NewCheckForm {
        collection: ctx
            .current
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        ..NewCheckForm::default()
    };
    list_page(&ctx, &form).await
}

/// `POST /impact-checks` (logged-in users): queues a check and shows it, or shows the
/// form again with the reason it was refused.
async fn create(ctx: PageContext, Form(form): Form<FormData>) -> AppResult<Response> {
    let user = ctx.require_user()?.clone();
    let values = NewCheckForm {
        collection: form.text("collection"),
        side_tag: form.text("side_tag"),
        repo_url: form.text("repo_url"),
        depth: form.text("depth"),
        max_builds: form.text("max_builds"),
        builds: form.checked("builds"),
    };
    let number = |label: &str, text: &str| {
        text.parse::<i32>()
            .map_err(|_| format!("Invalid {label} {text:?}: expected a whole number"))
    };
    let outcome = match (
        number("depth", &values.depth),
        number("build cap", &values.max_builds),
    ) {
        (Ok(depth), Ok(max_builds)) => {
            let given = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
            let repo_url = given(&values.repo_url);
            let new = NewImpactCheck {
                collection: values.collection.clone(),
                side_tag: given(&values.side_tag),
                // a repository resolves only: the box's default does not ask for builds
                builds: Some(values.builds).filter(|_| repo_url.is_none()),
                repo_url,
                depth,
                max_builds,
            };
            queue(&ctx.pool, &ctx.config, &user, &new).await?
        }
        (Err(message), _) | (_, Err(message)) => Err(message),
    };
    match outcome {
        Ok(id) => {
            ctx.session
                .flash(FlashKind::Success, format!("Impact check {id} queued"));
            Ok(crate::http::redirect::found(&format!(
                "/impact-checks/{id}"
            )))
        }
        Err(message) => {
            ctx.session.flash(FlashKind::Danger, message);
            list_page(&ctx, &values).await
        }
    }
}

/// `/impact-checks/<id>`: the check's report.
async fn detail(ctx: PageContext, Path(id): Path<String>) -> AppResult<Response> {
    let limit = ctx.config.frontend.limits.max_impact_packages;
    let report = load_report(&ctx.pool, &id, Some(limit)).await?;
    let title = format!("Impact check {}", report.check.id);
    let content = render::report(&ctx, &report);
    Ok(layout::page(&ctx, &title, Tab::ImpactChecks, content).into_response())
}
