//! The package table shared by the package list, search, group and user
//! pages (the original's `package_table` macro in `templates/macros.html`):
//! one row per package for a single collection, or one row per base package
//! with a state column per collection (unified view).

use maud::{html, Markup};
use sqlx::PgPool;

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
    /// SQL condition on package `p`, its value bound as parameter `$n`.
    fn sql(&self, n: usize) -> String {
        match self {
            NameFilter::All => String::new(),
            NameFilter::Pattern(_) => format!(" AND p.name ILIKE ${n}"),
            NameFilter::Group(_) => format!(
                " AND p.base_id IN (SELECT base_id FROM package_group_relation WHERE group_id = ${n})"
            ),
            NameFilter::MaintainedBy(_) => format!(
                " AND p.base_id IN (SELECT r.base_id FROM package_group_relation r
                    JOIN group_acl a ON a.group_id = r.group_id WHERE a.user_id = ${n})"
            ),
            NameFilter::Names(_) => format!(" AND p.name = ANY(${n})"),
        }
    }

    fn bind<'q, O>(
        &'q self,
        q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        match self {
            NameFilter::All => q,
            NameFilter::Pattern(p) => q.bind(p),
            NameFilter::Group(id) | NameFilter::MaintainedBy(id) => q.bind(*id),
            NameFilter::Names(names) => q.bind(names),
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
/// (few) running builds, so ordering by it needs no join.
const RUNNING: &str = "(p.last_build_id IN (SELECT id FROM build WHERE state = 2))";

/// Display rank of a state for sorting (problems first).
const STATE_RANK: &str =
    "array_position(ARRAY['unresolved','failing','unknown','ok','untracked','blocked'], package_state(p))";

fn order_sql(order: &[(String, bool)], key_sql: impl Fn(&str) -> Option<(String, bool)>) -> String {
    let mut parts: Vec<String> = order
        .iter()
        .filter_map(|(key, desc)| {
            key_sql(key).map(|(expr, natural_desc)| {
                let dir = if natural_desc != *desc { "DESC" } else { "ASC" };
                format!("{expr} {dir} NULLS LAST")
            })
        })
        .collect();
    parts.push("1".into());
    parts.join(", ")
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
    let by_priority = order.iter().any(|(k, _)| k == "current_priority");
    let needs_build = order
        .iter()
        .any(|(k, _)| matches!(k.as_str(), "task_id" | "started" | "current_priority"));
    let filter_param = if by_priority { 8 } else { 5 };
    let order_by = order_sql(&order, |key| {
        Some(match key {
            "name" => ("p.name".into(), false),
            "state" => (STATE_RANK.into(), false),
            "running" => (RUNNING.into(), true),
            "task_id" => ("lb.task_id".into(), false),
            "started" => ("build_time(lb)".into(), true),
            "current_priority" => ("package_priority(p, c, lb, $5, $6, $7)".into(), true),
            _ => return None,
        })
    });
    let where_sql = "p.collection_id = $1 AND NOT p.blocked AND (p.tracked OR $2)";
    let ids_sql = format!(
        "SELECT p.id FROM package p {join}
         WHERE {where_sql}{filter}
         ORDER BY {order_by}
         LIMIT $3 OFFSET $4",
        join = if needs_build {
            "JOIN collection c ON c.id = p.collection_id LEFT JOIN build lb ON lb.id = p.last_build_id"
        } else {
            ""
        },
        filter = filter.sql(filter_param),
    );
    let mut pager = Pager::from_ctx(ctx, ctx.config.frontend.packages_per_page)?;
    let mut ids_query = sqlx::query_as::<_, (i32,)>(&ids_sql)
        .bind(collection.id)
        .bind(untracked)
        .bind(pager.per_page)
        .bind(pager.offset());
    if by_priority {
        ids_query = ids_query.bind(p.t0).bind(p.t1).bind(p.build_threshold);
    }
    let ids: Vec<i32> = filter
        .bind(ids_query)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let mut rows: Vec<SingleRow> = sqlx::query_as(
        "SELECT p.id, p.name, p.base_id, package_state(p) AS state,
                COALESCE(lb.state = 2, false) AS running, lb.task_id, build_time(lb) AS started,
                package_priority(p, c, lb, $2, $3, $4) AS priority
         FROM package p JOIN collection c ON c.id = p.collection_id
         LEFT JOIN build lb ON lb.id = p.last_build_id
         WHERE p.id = ANY($1)",
    )
    .bind(&ids)
    .bind(p.t0)
    .bind(p.t1)
    .bind(p.build_threshold)
    .fetch_all(pool)
    .await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    let count_sql = format!(
        "SELECT count(*) FROM package p WHERE {where_sql}{}",
        filter.sql(3)
    );
    let total = filter
        .bind(
            sqlx::query_as::<_, (i64,)>(&count_sql)
                .bind(collection.id)
                .bind(untracked),
        )
        .fetch_one(pool)
        .await?
        .0;
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
                        td { (state_badges::state_icon(&r.state)) }
                        td { @if r.running { span.running title="A build is running" { "⟳" } } }
                        td { @if let Some(t) = r.task_id {
                            a href={ (weburl) "/taskinfo?taskID=" (t) } { (t) }
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
    let order_by = order_sql(&order, |key| {
        Some(match key {
            "name" => ("b.name".into(), false),
            "running" => (format!("bool_or({RUNNING})"), true),
            "failing" => (
                "bool_or(package_state(p) IN ('failing', 'unresolved'))".into(),
                true,
            ),
            k => {
                let name = k.strip_prefix("state-")?;
                let c = ctx.current.iter().find(|c| c.name == name)?;
                (
                    format!(
                        "min(CASE WHEN p.collection_id = {} THEN {STATE_RANK} END)",
                        c.id
                    ),
                    false,
                )
            }
        })
    });
    let where_sql = "p.collection_id = ANY($1) AND NOT p.blocked AND (p.tracked OR $2)
                     AND NOT b.all_blocked";
    let sql = format!(
        "SELECT b.name, bool_or({RUNNING}) AS running,
                array_agg(p.collection_id ORDER BY p.collection_id) AS collection_ids,
                array_agg(package_state(p) ORDER BY p.collection_id) AS states
         FROM package p JOIN base_package b ON b.id = p.base_id
         WHERE {where_sql}{filter}
         GROUP BY b.id, b.name
         ORDER BY {order_by}
         LIMIT $3 OFFSET $4",
        filter = filter.sql(5),
    );
    let mut pager = Pager::from_ctx(ctx, ctx.config.frontend.packages_per_page)?;
    let rows: Vec<UnifiedRow> = filter
        .bind(
            sqlx::query_as(&sql)
                .bind(&ids)
                .bind(untracked)
                .bind(pager.per_page)
                .bind(pager.offset()),
        )
        .fetch_all(pool)
        .await?;
    let count_sql = format!(
        "SELECT count(DISTINCT p.base_id) FROM package p JOIN base_package b ON b.id = p.base_id
         WHERE {where_sql}{}",
        filter.sql(3)
    );
    let total = filter
        .bind(
            sqlx::query_as::<_, (i64,)>(&count_sql)
                .bind(&ids)
                .bind(untracked),
        )
        .fetch_one(pool)
        .await?
        .0;
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
                                    a href={ "/package/" (encode(&r.name)) "?collection=" (encode(&c.name)) } {
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
