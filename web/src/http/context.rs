//! What every page needs (the original's `get_collections` in
//! `koschei/frontend/base.py`): the collections and the ones the
//! request selects (`collection=a,b`), the logged-in user, the global
//! notices (admin notice, broken buildroots, suspended scheduling) and the
//! session.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::NaiveDateTime;
use koschei_core::Config;
use sqlx::{PgConnection, PgPool};

use crate::error::{AppError, AppResult};
use crate::http::query::QueryArgs;
use crate::http::session::{Session, User};
use crate::state::AppState;

/// A collection with every attribute pages show.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Collection {
    pub id: i32,
    pub name: String,
    pub display_name: String,
    pub order: i32,
    pub target: String,
    pub dest_tag: String,
    pub build_tag: String,
    pub build_group: String,
    pub bugzilla_product: Option<String>,
    pub bugzilla_version: Option<String>,
    pub priority_coefficient: f64,
    pub latest_repo_id: Option<i32>,
    pub latest_repo_resolved: Option<bool>,
    pub poll_untracked: bool,
    pub secondary_mode: bool,
    pub scheduling_suspended: Option<String>,
    /// `collection_state(c)`: ok / unresolved / unknown.
    pub state: String,
}

/// Every collection in display order (highest `order` first).
pub async fn load_collections(conn: &mut PgConnection) -> sqlx::Result<Vec<Collection>> {
    sqlx::query_as(
        r#"SELECT id, name, display_name, "order", target, dest_tag, build_tag, build_group,
                  bugzilla_product, bugzilla_version, priority_coefficient, latest_repo_id,
                  latest_repo_resolved, poll_untracked, secondary_mode, scheduling_suspended,
                  collection_state(c) AS state
           FROM collection c ORDER BY "order" DESC, name DESC"#,
    )
    .fetch_all(conn)
    .await
}

/// A broken base buildroot shown as a global notice.
#[derive(Debug, Clone)]
pub struct BuildrootNotice {
    pub collection: String,
    pub problems: Vec<String>,
}

/// Per-request page context.
pub struct PageContext {
    pub config: Arc<Config>,
    pub pool: PgPool,
    pub session: Session,
    pub user: Option<User>,
    /// All collections, in display order.
    pub collections: Vec<Collection>,
    /// The selected collections (all when `collection` was not given).
    pub current: Vec<Collection>,
    /// Whether `collection` was given explicitly.
    pub collection_selected: bool,
    /// The admin notice (HTML allowed, set by administrators).
    pub notice: Option<String>,
    pub buildroot_notices: Vec<BuildrootNotice>,
    /// Collections whose scheduling is suspended: `(display name, reason)`.
    pub suspended: Vec<(String, String)>,
    /// Path of the request.
    pub path: String,
    /// Decoded query arguments.
    pub query: QueryArgs,
    /// Database time when the request started (for "ago" texts).
    pub now: NaiveDateTime,
}

impl PageContext {
    /// The current URL with query argument `key` replaced.
    pub fn url_with(&self, key: &str, value: Option<&str>) -> String {
        format!("{}{}", self.path, self.query.with(key, value))
    }

    /// Like [`Self::url_with`] but back to the first page.
    pub fn url_without_page(&self, key: &str, value: Option<&str>) -> String {
        let rest = QueryArgs(
            self.query
                .0
                .iter()
                .filter(|(k, _)| k != "page")
                .cloned()
                .collect(),
        );
        format!("{}{}", self.path, rest.with(key, value))
    }

    /// The logged-in user, or a redirect to the login page.
    pub fn require_user(&self) -> AppResult<&User> {
        self.user.as_ref().ok_or_else(|| AppError::LoginRequired {
            next: self.path_and_query(),
        })
    }

    /// The logged-in administrator; 403 for other users.
    pub fn require_admin(&self) -> AppResult<&User> {
        let user = self.require_user()?;
        if !user.admin {
            return Err(AppError::Forbidden(
                "This action requires administrator privileges".into(),
            ));
        }
        Ok(user)
    }

    /// Path with the original query string.
    pub fn path_and_query(&self) -> String {
        format!(
            "{}{}",
            self.path,
            crate::http::query::to_query(&self.query_pairs())
        )
    }

    fn query_pairs(&self) -> Vec<(&str, &str)> {
        self.query
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// The collection named `name`.
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }

    /// The collection with id `id`.
    pub fn collection_by_id(&self, id: i32) -> Option<&Collection> {
        self.collections.iter().find(|c| c.id == id)
    }

    /// `collection=` argument of the current selection (`None` for all).
    pub fn collection_arg(&self) -> Option<String> {
        self.collection_selected.then(|| {
            self.current
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
    }
}

/// Parses `collection=a,b` (repeatable) into the selected collections.
pub fn select_collections(
    all: &[Collection],
    query: &QueryArgs,
) -> AppResult<Option<Vec<Collection>>> {
    let names: Vec<&str> = query
        .get_all("collection")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    let mut selected = Vec::new();
    for name in names {
        let c = all
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| AppError::NotFound(format!("Collection not found: {name}")))?;
        if !selected.iter().any(|s: &Collection| s.id == c.id) {
            selected.push(c.clone());
        }
    }
    // Keep display order.
    selected.sort_by_key(|c| all.iter().position(|a| a.id == c.id));
    Ok(Some(selected))
}

impl FromRequestParts<AppState> for PageContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let session = Session::from_request_parts(parts, state).await?;
        let query = QueryArgs::parse(parts.uri.query());
        let mut conn = state.pool.acquire().await?;
        let collections = load_collections(&mut conn).await?;
        if collections.is_empty() {
            return Err(AppError::NoCollections);
        }
        let selected = select_collections(&collections, &query)?;
        let collection_selected = selected.is_some();
        let current = selected.unwrap_or_else(|| collections.clone());
        // Loaded and checked against its session generation by the session layer.
        let user = parts.extensions.get::<User>().cloned();
        let (notice, now): (Option<String>, NaiveDateTime) = sqlx::query_as(
            "SELECT (SELECT content FROM admin_notice WHERE key = 'global_notice'),
                    now() AT TIME ZONE 'UTC'",
        )
        .fetch_one(&mut *conn)
        .await?;
        let broken: Vec<i32> = current
            .iter()
            .filter(|c| c.latest_repo_resolved == Some(false))
            .map(|c| c.id)
            .collect();
        let mut buildroot_notices = Vec::new();
        if !broken.is_empty() {
            let rows: Vec<(i32, String)> = sqlx::query_as(
                "SELECT collection_id, problem FROM buildroot_problem
                 WHERE collection_id = ANY($1) ORDER BY collection_id, problem",
            )
            .bind(&broken)
            .fetch_all(&mut *conn)
            .await?;
            for c in current.iter().filter(|c| broken.contains(&c.id)) {
                buildroot_notices.push(BuildrootNotice {
                    collection: c.display_name.clone(),
                    problems: rows
                        .iter()
                        .filter(|(id, _)| *id == c.id)
                        .map(|(_, p)| p.clone())
                        .collect(),
                });
            }
        }
        let suspended = collections
            .iter()
            .filter_map(|c| {
                let reason = c.scheduling_suspended.as_ref()?;
                Some((c.display_name.clone(), reason.clone()))
            })
            .collect();
        Ok(PageContext {
            config: state.config.clone(),
            pool: state.pool.clone(),
            session,
            user,
            collections,
            current,
            collection_selected,
            notice,
            buildroot_notices,
            suspended,
            path: parts.uri.path().to_string(),
            query,
            now,
        })
    }
}
