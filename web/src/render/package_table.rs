//! The package table shared by the package list, search, group and user
//! pages (the original's `package_table` macro in `templates/macros.html`):
//! one row per package for a single collection, or one row per base package
//! with a state column per collection (unified view).

use koschei_core::config::PriorityConfig;
use koschei_core::model::BuildState;
use maud::{html, Markup};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::cache::{Tag, Tags};
use crate::error::AppResult;
use crate::http::context::{Collection, PageContext};
use crate::http::query::encode;
use crate::render::layout::{self, Pager};
use crate::render::state_badges;

/// Which packages the table lists.
#[derive(Debug, Clone)]
pub enum NameFilter {
    /// Every package.
    All,
    /// Names matching an `ILIKE` pattern.
    Pattern(String),
    /// Packages of a group (by id).
    Group(i32),
    /// Packages of the groups a user maintains (by user id).
    MaintainedBy(i32),
    /// Packages with one of these names.
    Names(Vec<String>),
}

impl NameFilter {
    /// Appends the SQL condition on package `p` (` AND …`), its value bound.
    fn push_condition<'a>(&'a self, q: &mut QueryBuilder<'a, Postgres>) {
        match self {
            NameFilter::All => {}
            NameFilter::Pattern(pattern) => {
                q.push(" AND p.name ILIKE ").push_bind(pattern);
            }
            NameFilter::Group(id) => {
                q.push(" AND p.base_id IN (SELECT base_id FROM package_group_relation WHERE group_id = ")
                    .push_bind(*id)
                    .push(")");
            }
            NameFilter::MaintainedBy(id) => {
                q.push(
                    " AND p.base_id IN (SELECT r.base_id FROM package_group_relation r
                    JOIN group_acl a ON a.group_id = r.group_id WHERE a.user_id = ",
                )
                .push_bind(*id)
                .push(")");
            }
            NameFilter::Names(names) => {
                q.push(" AND p.name = ANY(").push_bind(names).push(")");
            }
        }
    }
}

/// Turns user search text into an `ILIKE` pattern: substring match, `*`
/// matches anything, `%` and `_` are literal.
pub fn search_pattern(text: &str) -> String {
    let escaped = text
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
        .replace('*', "%");
    format!("%{escaped}%")
}

/// How a table page is rendered.
pub struct TableOptions {
    pub filter: NameFilter,
    /// Offer the "Show/Hide untracked" toggle (search, group, user pages).
    pub untracked_toggle: bool,
}

#[derive(sqlx::FromRow)]
struct SingleRow {
    id: i32,
    name: String,
    base_id: i32,
    state: String,
    running: bool,
    task_id: Option<i32>,
    started: Option<chrono::NaiveDateTime>,
    priority: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct UnifiedRow {
    name: String,
    running: bool,
    collection_ids: Vec<i32>,
    states: Vec<String>,
}

/// Whether the package's last build is running; a hashed lookup in the
/// (few) running builds, so ordering by it needs no join. False, not NULL,
/// for a package without builds.
const RUNNING: &str = concat!(
    "COALESCE(p.last_build_id IN (SELECT id FROM build WHERE state = ",
    koschei_core::build_state_code!(Running),
    "), false)"
);

/// Display rank of a state for sorting (problems first).
const STATE_RANK: &str =
    "array_position(ARRAY['unresolved','failing','unknown','ok','untracked','blocked'], package_state(p))";

/// An expression the tables sort by.
enum OrderExpr {
    /// Fixed SQL.
    Sql(String),
    /// The package's current priority, the configured parameters bound.
    Priority,
    /// [`STATE_RANK`] of the package in one collection (unified view).
    StateRankIn(i32),
}

/// Appends ` ORDER BY …` for the requested `order` (key, descending); `key_expr`
/// gives a key's expression and whether it sorts descending by nature.
fn push_order_by<'a>(
    q: &mut QueryBuilder<'a, Postgres>,
    order: &[(String, bool)],
    priorities: &PriorityConfig,
    key_expr: impl Fn(&str) -> Option<(OrderExpr, bool)>,
) {
    q.push(" ORDER BY ");
    for (key, desc) in order {
        let Some((expr, natural_desc)) = key_expr(key) else {
            continue;
        };
        match expr {
            OrderExpr::Sql(sql) => {
                q.push(sql);
            }
            OrderExpr::Priority => {
                q.push("package_priority(p, c, lb, ")
                    .push_bind(priorities.t0)
                    .push(", ")
                    .push_bind(priorities.t1)
                    .push(", ")
                    .push_bind(priorities.build_threshold)
                    .push(")");
            }
            OrderExpr::StateRankIn(collection_id) => {
                q.push("min(CASE WHEN p.collection_id = ")
                    .push_bind(collection_id)
                    .push(" THEN ")
                    .push(STATE_RANK)
                    .push(" END)");
            }
        }
        let dir = if natural_desc != *desc { "DESC" } else { "ASC" };
        q.push(format_args!(" {dir} NULLS LAST, "));
    }
    q.push("1");
}

/// What the table of `ctx`'s collections shows depends on, for the page
/// cache: the frame, groups, the collections' packages; relative times and
/// priorities change with time.
pub fn cache_tags(ctx: &PageContext) -> Tags {
    let collections = ctx.current.iter().map(|c| Tag::Collection(c.id));
    Tags::new([Tag::Site, Tag::Groups].into_iter().chain(collections)).time_dependent()
}

/// Renders the table (with pagination and ordering) for the current
/// collections of `ctx`.
pub async fn render(ctx: &PageContext, opts: TableOptions) -> AppResult<Markup> {
    let untracked = ctx.query.get("untracked") == Some("1");
    let toggle = opts.untracked_toggle.then(|| {
        html! {
            p.untracked-toggle {
                @if untracked {
                    a href=(ctx.url_without_page("untracked", None)) { "Hide untracked" }
                } @else {
                    a href=(ctx.url_without_page("untracked", Some("1"))) { "Show untracked" }
                }
            }
        }
    });
    // The pager's caption, as in the original's `templates/macros.html`.
    let what = match (opts.untracked_toggle, untracked) {
        (false, _) => "Packages",
        (true, false) => "Tracked packages",
        (true, true) => "Tracked and untracked packages",
    };
    let table = if ctx.current.len() == 1 {
        single(ctx, &ctx.current[0], &opts.filter, untracked, what).await?
    } else {
        unified(ctx, &opts.filter, untracked, what).await?
    };
    Ok(html! { (toggle.unwrap_or_default()) (table) })
}

async fn single(
    ctx: &PageContext,
    collection: &Collection,
    filter: &NameFilter,
    untracked: bool,
    what: &str,
) -> AppResult<Markup> {
    let pool: &PgPool = &ctx.pool;
    let p = &ctx.config.priorities;
    let order = layout::parse_order(
        ctx,
        &[
            "name",
            "state",
            "running",
            "task_id",
            "started",
            "current_priority",
        ],
        "running,state,name",
    );
    // The page's package ids first, joining the last build only when the
    // order needs it (the default order does not), then the page's rows.
    let needs_build = order
        .iter()
        .any(|(k, _)| matches!(k.as_str(), "task_id" | "started" | "current_priority"));
    // The packages of the collection the table lists.
    let push_where = |q: &mut QueryBuilder<'_, Postgres>| {
        q.push(" WHERE p.collection_id = ")
            .push_bind(collection.id)
            .push(" AND NOT p.blocked AND (p.tracked OR ")
            .push_bind(untracked)
            .push(")");
    };
    let mut pager = Pager::from_ctx(ctx, ctx.config.frontend.packages_per_page)?;
    let mut ids_query = QueryBuilder::new("SELECT p.id FROM package p");
    if needs_build {
        ids_query.push(
            " JOIN collection c ON c.id = p.collection_id LEFT JOIN build lb ON lb.id = p.last_build_id",
        );
    }
    push_where(&mut ids_query);
    filter.push_condition(&mut ids_query);
    push_order_by(&mut ids_query, &order, p, |key| {
        Some(match key {
            "name" => (OrderExpr::Sql("p.name".into()), false),
            "state" => (OrderExpr::Sql(STATE_RANK.into()), false),
            "running" => (OrderExpr::Sql(RUNNING.into()), true),
            "task_id" => (OrderExpr::Sql("lb.task_id".into()), false),
            "started" => (OrderExpr::Sql("build_time(lb)".into()), true),
            "current_priority" => (OrderExpr::Priority, true),
            _ => return None,
        })
    });
    ids_query
        .push(" LIMIT ")
        .push_bind(pager.per_page)
        .push(" OFFSET ")
        .push_bind(pager.offset());
    let ids: Vec<i32> = ids_query.build_query_scalar().fetch_all(pool).await?;
    let mut rows: Vec<SingleRow> = sqlx::query_as(
        "SELECT p.id, p.name, p.base_id, package_state(p) AS state,
                COALESCE(lb.state = $5, false) AS running, lb.task_id, build_time(lb) AS started,
                package_priority(p, c, lb, $2, $3, $4) AS priority
         FROM package p JOIN collection c ON c.id = p.collection_id
         LEFT JOIN build lb ON lb.id = p.last_build_id
         WHERE p.id = ANY($1)",
    )
    .bind(&ids)
    .bind(p.t0)
    .bind(p.t1)
    .bind(p.build_threshold)
    .bind(BuildState::Running)
    .fetch_all(pool)
    .await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    let mut count_query = QueryBuilder::new("SELECT count(*) FROM package p");
    push_where(&mut count_query);
    filter.push_condition(&mut count_query);
    let total: i64 = count_query.build_query_scalar().fetch_one(pool).await?;
    pager.set_total(total)?;
    let base_ids: Vec<i32> = rows.iter().map(|r| r.base_id).collect();
    let groups: Vec<(i32, Option<String>, String)> = sqlx::query_as(
        "SELECT r.base_id, g.namespace, g.name FROM package_group_relation r
         JOIN package_group g ON g.id = r.group_id
         WHERE r.base_id = ANY($1)
           AND (g.namespace IS NULL
                OR g.id IN (SELECT group_id FROM group_acl WHERE user_id = $2))
         ORDER BY g.namespace NULLS FIRST, g.name",
    )
    .bind(&base_ids)
    .bind(ctx.user.as_ref().map(|u| u.id))
    .fetch_all(pool)
    .await?;
    let weburl = &ctx.config.koji_config.weburl;
    let coll = encode(&collection.name);
    let pager_row = pager.render(ctx, what);
    Ok(html! {
        (pager_row)
        // Column titles of the original's `templates/macros.html`.
        table.packages {
            thead { tr {
                th { (layout::sort_header(ctx, &order, "name", "Name")) }
                th { (layout::sort_header(ctx, &order, "state", "State")) }
                th { (layout::sort_header(ctx, &order, "running", "Running")) }
                th { (layout::sort_header(ctx, &order, "task_id", "Task ID")) }
                th { (layout::sort_header(ctx, &order, "started", "Last build started")) }
                th.num { (layout::sort_header(ctx, &order, "current_priority", "Priority")) }
                th { "Package groups" }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        td { a href={ "/package/" (encode(&r.name)) "?collection=" (coll) } { (r.name) } }
                        td data-package=(r.name) data-collection=(collection.name) { (state_badges::state_icon(&r.state)) }
                        td { @if r.running { span.running title="A build is running" { "⟳" } } }
                        td { @if let Some(t) = r.task_id {
                            a href=(layout::koji_task_url(weburl, t)) { (t) }
                        } }
                        td { (layout::time_opt(ctx, r.started)) }
                        td.num { @if let Some(pr) = r.priority { (pr.trunc() as i64) } }
                        td.groups {
                            @for (_, ns, name) in groups.iter().filter(|g| g.0 == r.base_id) {
                                @let full = match ns { Some(ns) => format!("{ns}/{name}"), None => name.clone() };
                                a.group href={ "/groups/" (full) } { (full) } " "
                            }
                        }
                    }
                }
                @if rows.is_empty() { tr { td colspan="7" .muted { "No packages." } } }
            }
        }
        (pager_row)
    })
}

async fn unified(
    ctx: &PageContext,
    filter: &NameFilter,
    untracked: bool,
    what: &str,
) -> AppResult<Markup> {
    let pool: &PgPool = &ctx.pool;
    let ids: Vec<i32> = ctx.current.iter().map(|c| c.id).collect();
    let state_keys: Vec<String> = ctx
        .current
        .iter()
        .map(|c| format!("state-{}", c.name))
        .collect();
    let mut allowed: Vec<&str> = vec!["name", "running", "failing"];
    allowed.extend(state_keys.iter().map(String::as_str));
    let order = layout::parse_order(ctx, &allowed, "running,failing,name");
    // The base packages in the current collections the table lists.
    let push_where = |q: &mut QueryBuilder<'_, Postgres>| {
        q.push(" WHERE p.collection_id = ANY(")
            .push_bind(ids.clone())
            .push(") AND NOT p.blocked AND (p.tracked OR ")
            .push_bind(untracked)
            .push(") AND NOT b.all_blocked");
    };
    let mut pager = Pager::from_ctx(ctx, ctx.config.frontend.packages_per_page)?;
    let mut query = QueryBuilder::new("SELECT b.name, bool_or(");
    query.push(RUNNING).push(
        ") AS running,
                array_agg(p.collection_id ORDER BY p.collection_id) AS collection_ids,
                array_agg(package_state(p) ORDER BY p.collection_id) AS states
         FROM package p JOIN base_package b ON b.id = p.base_id",
    );
    push_where(&mut query);
    filter.push_condition(&mut query);
    query.push(" GROUP BY b.id, b.name");
    push_order_by(&mut query, &order, &ctx.config.priorities, |key| {
        Some(match key {
            "name" => (OrderExpr::Sql("b.name".into()), false),
            "running" => (OrderExpr::Sql(format!("bool_or({RUNNING})")), true),
            "failing" => (
                OrderExpr::Sql("bool_or(package_state(p) IN ('failing', 'unresolved'))".into()),
                true,
            ),
            k => {
                let name = k.strip_prefix("state-")?;
                let c = ctx.current.iter().find(|c| c.name == name)?;
                (OrderExpr::StateRankIn(c.id), false)
            }
        })
    });
    query
        .push(" LIMIT ")
        .push_bind(pager.per_page)
        .push(" OFFSET ")
        .push_bind(pager.offset());
    let rows: Vec<UnifiedRow> = query.build_query_as().fetch_all(pool).await?;
    let mut count_query = QueryBuilder::new(
        "SELECT count(DISTINCT p.base_id) FROM package p JOIN base_package b ON b.id = p.base_id",
    );
    push_where(&mut count_query);
    filter.push_condition(&mut count_query);
    let total: i64 = count_query.build_query_scalar().fetch_one(pool).await?;
    pager.set_total(total)?;
    let pager_row = pager.render(ctx, what);
    Ok(html! {
        (pager_row)
        table.packages.unified {
            thead { tr {
                th { (layout::sort_header(ctx, &order, "name", "Name")) }
                @for c in &ctx.current {
                    th.state-col { (layout::sort_header(ctx, &order, &format!("state-{}", c.name), &c.display_name)) }
                }
                th { (layout::sort_header(ctx, &order, "running", "Running")) }
                th { (layout::sort_header(ctx, &order, "failing", "Failing")) }
            } }
            tbody {
                @for r in &rows {
                    tr {
                        td { a href={ "/package/" (encode(&r.name)) } { (r.name) } }
                        @for c in &ctx.current {
                            td.state-col {
                                @if let Some(i) = r.collection_ids.iter().position(|id| *id == c.id) {
                                    a href={ "/package/" (encode(&r.name)) "?collection=" (encode(&c.name)) }
                                      data-package=(r.name) data-collection=(c.name) {
                                        (state_badges::state_icon(&r.states[i]))
                                    }
                                }
                            }
                        }
                        td { @if r.running { span.running title="A build is running" { "⟳" } } }
                        td { @if r.states.iter().any(|s| s == "failing" || s == "unresolved") { "yes" } }
                    }
                }
                @if rows.is_empty() { tr { td colspan=(ctx.current.len() + 3) .muted { "No packages." } } }
            }
        }
        (pager_row)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns() {
        assert_eq!(search_pattern("rnv"), "%rnv%");
        assert_eq!(search_pattern("py*3"), "%py%3%");
        assert_eq!(search_pattern("a_b%"), "%a\\_b\\%%");
    }
}
