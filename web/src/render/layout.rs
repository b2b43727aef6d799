//! The page frame (header, tabs, notices, flashes, footer) and the small
//! rendering helpers pages share: times, pagination, sortable column
//! headers, CSRF fields (state badges are [`crate::render::state_badges`]).

use chrono::NaiveDateTime;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::error::{AppError, AppResult};
use crate::http::context::PageContext;
use crate::http::query::encode;
use crate::http::redirect::login_url;
use crate::http::session::CSRF_FIELD;
use crate::render::state_badges::state_icon;

/// Top-level navigation tabs (the original's tab definitions in
/// `koschei/frontend/views.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Collections,
    Packages,
    Groups,
    MyPackages,
    AddPackages,
    ImpactChecks,
    Stats,
    Documentation,
    None,
}

/// The document head; `title` is the whole `<title>`.
pub fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) }
            link rel="stylesheet" href="/static/koschei.css";
            link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
            script src="/static/live.js" defer {}
        }
    }
}

/// The `<title>` of a page as the original's `templates/base.html` forms
/// it: `Koschei - <subject>`, or just "Koschei" for an empty subject.
pub fn page_title(subject: &str) -> String {
    if subject.is_empty() {
        "Koschei".to_string()
    } else {
        format!("Koschei - {subject}")
    }
}

/// A full page with the header, notices, flash messages and footer;
/// `title` is the page's subject (see [`page_title`]).
pub fn page(ctx: &PageContext, title: &str, tab: Tab, content: Markup) -> Markup {
    let flashes = ctx.session.take_flashes();
    let user = ctx.user.as_ref();
    let tabs: Vec<(Tab, &str, String)> = [
        Some((Tab::Collections, "Collections", "/collections".to_string())),
        Some((Tab::Packages, "Packages", "/packages".to_string())),
        Some((Tab::Groups, "Groups", "/groups".to_string())),
        user.map(|u| {
            (
                Tab::MyPackages,
                "My packages",
                format!("/user/{}", encode(&u.name)),
            )
        }),
        user.map(|_| {
            (
                Tab::AddPackages,
                "Add packages",
                "/add-packages".to_string(),
            )
        }),
        Some((
            Tab::ImpactChecks,
            "Impact checks",
            "/impact-checks".to_string(),
        )),
        Some((Tab::Stats, "Stats", "/stats".to_string())),
    ]
    .into_iter()
    .flatten()
    .collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&page_title(title)))
            body {
                header.topbar {
                    a.logo href="/" { span.logo-mark { "K" } "Koschei" }
                    nav.tabs {
                        @for (t, label, href) in &tabs {
                            a href=(href) class=@if *t == tab { "active" } { (label) }
                        }
                    }
                    form.search action="/search" method="get" role="search" {
                        input type="search" name="q" placeholder="Search packages" aria-label="Search packages";
                    }
                    div.login {
                        @if let Some(u) = user {
                            span.username title=(if u.admin { "administrator" } else { "user" }) {
                                (u.name) @if u.admin { " (admin)" }
                            }
                            " "
                            form.logout action="/logout" method="post" {
                                (csrf_field(ctx))
                                button type="submit" { "Log out" }
                            }
                        } @else {
                            a href=(login_url(&ctx.path_and_query())) { "Log in" }
                        }
                    }
                }
                main {
                    @if let Some(notice) = &ctx.notice {
                        div.alert.alert-info.notice { (PreEscaped(notice)) }
                    }
                    @for broken in &ctx.buildroot_notices {
                        div.alert.alert-danger.notice {
                            "Base buildroot for " (broken.collection) " is not installable. Dependency problems:"
                            ul { @for p in &broken.problems { li { (p) } } }
                        }
                    }
                    @for (collection, reason) in &ctx.suspended {
                        div.alert.alert-danger.notice.suspended {
                            "Scheduling of builds for " (collection) " is suspended: " (reason)
                        }
                    }
                    @for (kind, message) in &flashes {
                        div class={ "alert flash alert-" (kind.as_str()) } role="status" { (message) }
                    }
                    (content)
                }
                footer {
                    "Koschei " (ctx.config.version) " · "
                    a href="/documentation" { "Documentation" } " · "
                    a href="/api/v1/openapi.json" { "JSON API" }
                }
                // The icon of each package state, for `live.js` to swap in.
                template #state-icons {
                    @for state in ["ok", "failing", "unresolved", "blocked", "untracked", "unknown"] {
                        (state_icon(state))
                    }
                }
            }
        }
    }
}

/// "3 hours ago" style text.
pub fn ago(now: NaiveDateTime, then: NaiveDateTime) -> String {
    let secs = (now - then).num_seconds();
    let (n, unit) = match secs {
        s if s < 0 => return "in the future".into(),
        s if s < 60 => return "just now".into(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s if s < 86_400 * 60 => (s / 86_400, "day"),
        s if s < 86_400 * 730 => (s / (86_400 * 30), "month"),
        s => (s / (86_400 * 365), "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// A UTC timestamp with an "ago" tooltip.
pub fn time(ctx: &PageContext, ts: NaiveDateTime) -> Markup {
    html! {
        time datetime={ (ts.format("%Y-%m-%dT%H:%M:%SZ")) } title=(ago(ctx.now, ts)) {
            (ts.format("%Y-%m-%d %H:%M"))
        }
    }
}

/// Optional timestamp.
pub fn time_opt(ctx: &PageContext, ts: Option<NaiveDateTime>) -> Markup {
    match ts {
        Some(ts) => time(ctx, ts),
        None => html! { span.muted { "—" } },
    }
}

/// The page of a Koji task in Koji's web UI at `weburl`.
pub fn koji_task_url(weburl: &str, task_id: impl std::fmt::Display) -> String {
    format!("{weburl}/taskinfo?taskID={task_id}")
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(ctx: &PageContext) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ctx.session.csrf_token()); }
}

/// Page arithmetic of a paginated listing (`page` query argument, 1-based),
/// with the original's rules (Flask-SQLAlchemy's `paginate`, as used by
/// `koschei/frontend/views.py`): a `page` that is not a positive integer,
/// or one after the last page, is not found.
#[derive(Debug, Clone, Copy)]
pub struct Pager {
    pub page: i64,
    pub per_page: i64,
    total: i64,
}

impl Pager {
    /// Reads `page` from the query; 404 unless it is a positive integer
    /// (numbers beyond [`crate::http::query::MAX_PAGE`] are clamped to it).
    pub fn from_ctx(ctx: &PageContext, per_page: i64) -> AppResult<Pager> {
        let page = match ctx.query.get("page") {
            None => 1,
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(page_not_found)?
                .min(crate::http::query::MAX_PAGE),
        };
        Ok(Pager {
            page,
            per_page: per_page.max(1),
            total: 0,
        })
    }

    /// Records the number of items; 404 for a page after the last one
    /// (page 1 exists even when the list is empty).
    pub fn set_total(&mut self, total: i64) -> AppResult<()> {
        self.total = total;
        if self.page > 1 && self.offset() >= total {
            return Err(page_not_found());
        }
        Ok(())
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }

    /// Pagination links and the `<what> from X to Y from total Z` text.
    /// As in the original's `templates/macros.html`, X is the first
    /// item's number even on an empty list ("from 1 to 0 from total 0"),
    /// and the linked pages are the first two, the last two, and from two
    /// before to four after the current one (Flask-SQLAlchemy's
    /// `iter_pages`).
    pub fn render(&self, ctx: &PageContext, what: &str) -> Markup {
        let from = self.offset() + 1;
        let to = (self.offset() + self.per_page).min(self.total);
        let pages = self.pages();
        // Page numbers to link, `None` standing for a gap.
        let mut items: Vec<Option<i64>> = Vec::new();
        let near = |p: i64| p >= self.page - 2 && p <= self.page + 4;
        for p in (1..=pages).filter(|p| *p <= 2 || *p > pages - 2 || near(*p)) {
            if items
                .last()
                .copied()
                .flatten()
                .is_some_and(|last| p > last + 1)
            {
                items.push(None);
            }
            items.push(Some(p));
        }
        html! {
            nav.pagination aria-label="Pagination" {
                span.pager-text { (what) " from " (from) " to " (to) " from total " (self.total) }
                @if pages > 1 {
                    @if self.page > 1 {
                        a rel="prev" href=(ctx.url_with("page", Some(&(self.page - 1).to_string()))) { "‹ Previous" }
                    }
                    @for item in items {
                        @match item {
                            None => span.gap { "…" },
                            Some(p) if p == self.page => span.current { (p) },
                            Some(p) => a href=(ctx.url_with("page", Some(&p.to_string()))) { (p) },
                        }
                    }
                    @if self.page < pages {
                        a rel="next" href=(ctx.url_with("page", Some(&(self.page + 1).to_string()))) { "Next ›" }
                    }
                }
            }
        }
    }
}

fn page_not_found() -> AppError {
    AppError::NotFound("Page not found".into())
}

/// Parsed `order_by=a,-b`: keys with their direction (`true` = descending).
pub fn parse_order(ctx: &PageContext, allowed: &[&str], default: &str) -> Vec<(String, bool)> {
    let parse = |spec: &str| -> Vec<(String, bool)> {
        spec.split(',')
            .filter_map(|k| {
                let (key, desc) = match k.trim().strip_prefix('-') {
                    Some(k) => (k, true),
                    None => (k.trim(), false),
                };
                allowed.contains(&key).then(|| (key.to_string(), desc))
            })
            .collect()
    };
    let order = ctx.query.get("order_by").map(parse).unwrap_or_default();
    if order.is_empty() {
        parse(default)
    } else {
        order
    }
}

/// A sortable column header: clicking toggles the column's direction and
/// makes it the primary sort key.
pub fn sort_header(ctx: &PageContext, order: &[(String, bool)], key: &str, label: &str) -> Markup {
    let current = order.first().filter(|(k, _)| k == key).map(|(_, d)| *d);
    let mut keys: Vec<String> = vec![match current {
        Some(false) => format!("-{key}"),
        _ => key.to_string(),
    }];
    keys.extend(order.iter().filter(|(k, _)| k != key).map(|(k, d)| {
        if *d {
            format!("-{k}")
        } else {
            k.clone()
        }
    }));
    let href = ctx.url_without_page("order_by", Some(&keys.join(",")));
    let arrow = match current {
        Some(false) => " ▲",
        Some(true) => " ▼",
        None => "",
    };
    html! { a.sort href=(href) { (label) (arrow) } }
}

/// Tabs choosing one collection (`with_all` adds an "All collections"
/// tab when there are several, as the original's `collection_chooser` in
/// `templates/macros.html` does).
pub fn collection_tabs(ctx: &PageContext, with_all: bool, active: Option<&str>) -> Markup {
    html! {
        nav.collection-tabs aria-label="Collections" {
            @if with_all && ctx.collections.len() > 1 {
                a href=(ctx.url_without_page("collection", None)) class=@if !ctx.collection_selected { "active" } { "All collections" }
            }
            @for c in &ctx.collections {
                @let is_active = active.map_or(ctx.collection_selected && ctx.current.len() == 1 && ctx.current[0].id == c.id, |a| a == c.name);
                a href=(ctx.url_without_page("collection", Some(&c.name))) class=@if is_active { "active" } title=(c.name) {
                    (c.display_name)
                }
            }
        }
    }
}
