//! `/bugreport/<name>?collection=`: redirect to a pre-filled FTBFS bug form
//! (`bugreport.url` and `bugreport.template`), as the original's
//! `bugreport` view (`koschei/frontend/views.py`) does: the fields are
//! form-encoded (spaces as `+`), the comment is dedented and stripped, and
//! blocked packages have no form. The package link in it is absolute under
//! `frontend.external_url`, else a path.

use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::error::{AppError, AppResult};
use crate::http::context::PageContext;
use crate::http::query::encode;
use crate::render::template::{dedent, interpolate};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/bugreport/{name}", get(bugreport))
}

async fn bugreport(ctx: PageContext, Path(name): Path<String>) -> AppResult<Response> {
    let collection = ctx.current[0].clone();
    let build: Option<(Option<i32>, String, String)> = sqlx::query_as(
        "SELECT b.epoch, b.version, b.release FROM package p
         JOIN build b ON b.id = p.last_complete_build_id
         WHERE p.name = $1 AND p.collection_id = $2 AND NOT p.blocked",
    )
    .bind(&name)
    .bind(collection.id)
    .fetch_optional(&ctx.pool)
    .await?;
    let (_, version, release) = build.ok_or_else(|| {
        AppError::NotFound(format!(
            "Package {name} has no complete build in {}",
            collection.display_name
        ))
    })?;
    // Never from the request's Host header, which the client chooses.
    let base = ctx
        .config
        .frontend
        .external_url
        .as_deref()
        .map_or("", |url| url.trim_end_matches('/'));
    let url = format!(
        "{base}/package/{}?collection={}",
        encode(&name),
        encode(&collection.name)
    );
    let lookup = |key: &str| -> Option<String> {
        Some(match key {
            "name" | "package.name" => name.clone(),
            "version" => version.clone(),
            "release" => release.clone(),
            "arch" => "src".into(),
            "url" => url.clone(),
            // A collection prints as its display name in the original.
            "collection" | "collection.display_name" => collection.display_name.clone(),
            "collection.name" => collection.name.clone(),
            "collection.target" => collection.target.clone(),
            "collection.dest_tag" => collection.dest_tag.clone(),
            "collection.bugzilla_product" => {
                collection.bugzilla_product.clone().unwrap_or_default()
            }
            "collection.bugzilla_version" => {
                collection.bugzilla_version.clone().unwrap_or_default()
            }
            _ => return None,
        })
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    for (key, template) in &ctx.config.bugreport.template {
        let value = interpolate(template, lookup, false).ok_or_else(|| {
            AppError::BadRequest(format!("Bug report template field {key} cannot be filled"))
        })?;
        let value = if key == "comment" {
            dedent(&value).trim().to_string()
        } else {
            value
        };
        fields.push((key.clone(), value));
    }
    let query = serde_urlencoded::to_string(&fields)
        .map_err(|e| AppError::BadRequest(format!("Bug report fields: {e}")))?;
    let target = ctx.config.bugreport.url.replace("{query}", &query);
    Ok(crate::http::redirect::found(&target))
}
