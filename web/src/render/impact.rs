//! Impact checks on the pages: the list of checks, one check's report (summary, counts,
//! affected packages with their verdicts, builds, problems and dependency changes, and
//! its history), and the form that queues a check.

use koschei_core::impact::{
    self, ImpactBuild, ImpactCheck, ImpactReport, ImpactedPackage, MAX_BUILDS, MAX_DEPTH,
};
use maud::{html, Markup};

use super::layout::{self, koji_task_url};
use crate::http::context::PageContext;
use crate::http::query::encode;

/// A check's affected packages in short, for the list (from `impact_check_package`).
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow)]
pub struct CountsSummary {
    pub affected: i64,
    pub unresolvable_with_change: i64,
    pub regressions: i64,
}

/// The state CSS class (`state-*`) of a check's state, a verdict or a build's state:
/// green for good news, red for breakage, grey for neutral.
fn look(name: &str) -> &'static str {
    match name {
        impact::COMPLETE | "resolvable-with-change" | "fixed" | "passes" | "ok" => "ok",
        impact::ERROR | "unresolvable-with-change" | "regression" | "failed" => "failing",
        "still-unresolvable" | "still-failing" => "unresolved",
        impact::RESOLVING | impact::BUILDING | "running" => "running",
        "infrastructure-failure" | "infra-failure" => "infra",
        _ => "unknown",
    }
}

/// A state or verdict, coloured.
pub fn badge(name: &str) -> Markup {
    html! { span class={ "state state-" (look(name)) } { (name) } }
}

/// The counts of the list: affected / unresolvable with the change / regressions.
fn counts_line(c: CountsSummary) -> Markup {
    html! {
        span title="affected / unresolvable with the change / regressions" {
            (c.affected) " / "
            @if c.unresolvable_with_change > 0 {
                span.state.state-failing { (c.unresolvable_with_change) }
            } @else { "0" }
            " / "
            @if c.regressions > 0 { span.state.state-failing { (c.regressions) } } @else { "0" }
        }
    }
}

fn collection_link(name: &str) -> Markup {
    html! { a href={ "/collection/" (encode(name)) } { (name) } }
}

fn user_link(name: &str) -> Markup {
    html! { a href={ "/user/" (encode(name)) } { (name) } }
}

/// The table of checks, newest first, with each one's counts.
pub fn list_table(ctx: &PageContext, checks: &[(ImpactCheck, CountsSummary)]) -> Markup {
    html! {
        table.impact-checks {
            thead { tr {
                th.num { "Check" } th { "Change" } th { "Collection" } th { "State" }
                th { "Affected / unresolvable / regressions" } th { "Created" } th { "Requested by" }
            } }
            tbody {
                @for (c, counts) in checks {
                    tr {
                        td.num { a href={ "/impact-checks/" (c.id) } { (c.id) } }
                        td.change { a href={ "/impact-checks/" (c.id) } { (c.change()) } }
                        td { (collection_link(&c.collection)) }
                        td { (badge(&c.state)) }
                        td { (counts_line(*counts)) }
                        td { (layout::time(ctx, c.created)) }
                        td { (user_link(&c.requested_by)) }
                    }
                }
                @if checks.is_empty() { tr { td colspan="7" .muted { "No impact checks yet." } } }
            }
        }
    }
}

/// Values of the form queuing a check.
#[derive(Debug, Clone)]
pub struct NewCheckForm {
    pub collection: String,
    pub side_tag: String,
    pub repo_url: String,
    pub depth: String,
    pub max_builds: String,
    pub builds: bool,
}

impl Default for NewCheckForm {
    /// The core's defaults.
    fn default() -> Self {
        let defaults = impact::NewImpactCheck::new("", "");
        NewCheckForm {
            collection: String::new(),
            side_tag: String::new(),
            repo_url: String::new(),
            depth: defaults.depth.to_string(),
            max_builds: defaults.max_builds.to_string(),
            builds: true,
        }
    }
}

/// The form queuing a check (for users who may).
pub fn new_check_form(ctx: &PageContext, form: &NewCheckForm) -> Markup {
    html! {
        section.card #new-impact-check {
            h2 { "Check a side tag or a repository" }
            form.impact-form method="post" action="/impact-checks" {
                (layout::csrf_field(ctx))
                label { "Collection"
                    select name="collection" {
                        @for c in &ctx.collections {
                            option value=(c.name) selected[form.collection == c.name] { (c.display_name) }
                        }
                    }
                }
                label { "Side tag"
                    input type="text" name="side_tag" value=(form.side_tag)
                        pattern="[A-Za-z0-9._+\\-]+" placeholder="f25-build-side-1234";
                }
                label { "or an rpm-md repository layered over the collection's (resolution only)"
                    input type="url" name="repo_url" value=(form.repo_url) maxlength="2048"
                        placeholder="https://download.copr.fedorainfracloud.org/results/…/fedora-rawhide-x86_64/";
                }
                label { "Depth of reverse build dependencies to build (1 = direct)"
                    input type="number" name="depth" value=(form.depth) min="1" max=(MAX_DEPTH) required;
                }
                label { "At most this many packages built"
                    input type="number" name="max_builds" value=(form.max_builds) min="0" max=(MAX_BUILDS) required;
                }
                label { input type="checkbox" name="builds" value="1" checked[form.builds]; " Build the affected packages" }
                button type="submit" { "Queue impact check" }
            }
        }
    }
}

/// The check's summary card.
fn summary(ctx: &PageContext, c: &ImpactCheck) -> Markup {
    let repo = |id: Option<i32>| id.map_or("—".to_string(), |id| id.to_string());
    html! {
        section.card #summary {
            h2 { "Summary" }
            table.kv {
                tr { th { "State" } td { (badge(&c.state)) } }
                @if let Some(note) = &c.note {
                    tr { th { @if c.state == impact::ERROR { "Error" } @else { "Note" } } td.note { (note) } }
                }
                @match (&c.side_tag, &c.repo_url) {
                    (Some(tag), _) => tr { th { "Side tag" } td { (tag) } },
                    (None, url) => tr { th { "Repository" } td.change { (url.as_deref().unwrap_or("")) } },
                }
                tr { th { "Collection" } td { (collection_link(&c.collection)) } }
                tr { th { "Repos" } td { "base " (repo(c.base_repo_id)) " → change " (repo(c.change_repo_id)) } }
                tr { th { "Builds" } td {
                    @if c.builds {
                        "depth " (c.depth) ", at most " (c.max_builds) " packages"
                    } @else { "none (resolution only)" }
                } }
                tr { th { "Requested by" } td { (user_link(&c.requested_by)) } }
                tr { th { "Created" } td { (layout::time(ctx, c.created)) } }
                tr { th { "Started" } td { (layout::time_opt(ctx, c.started)) } }
                tr { th { "Finished" } td { (layout::time_opt(ctx, c.finished)) } }
            }
        }
    }
}

/// The counts card.
fn counts(report: &ImpactReport) -> Markup {
    let c = &report.counts;
    let row = |label: &str, n: i64, look_as: &str| {
        html! { tr { th { (label) } td.num { @if n > 0 { (badge_count(n, look_as)) } @else { "0" } } } }
    };
    html! {
        section.card #counts {
            h2 { "Affected packages" }
            table.kv {
                tr { th { "Affected" } td.num { (c.affected) } }
                (row("Unresolvable with the change", c.unresolvable_with_change, "unresolvable-with-change"))
                (row("Resolvable with the change", c.resolvable_with_change, "resolvable-with-change"))
                (row("Still unresolvable", c.still_unresolvable, "still-unresolvable"))
                (row("Other dependencies", c.dependencies_changed, "dependencies-changed"))
                @if report.check.builds {
                    (row("Regressions", c.regressions, "regression"))
                    (row("Fixed", c.fixed, "fixed"))
                    (row("Still failing", c.still_failing, "still-failing"))
                    (row("Builds pass", c.passes, "passes"))
                    (row("Infrastructure failures", c.infrastructure_failures, "infrastructure-failure"))
                    (row("Builds pending", c.builds_pending, "running"))
                }
            }
        }
    }
}

fn badge_count(n: i64, look_as: &str) -> Markup {
    html! { span class={ "state state-" (look(look_as)) } { (n) } }
}

/// The builds of one side, every attempt: state and Koji task.
fn builds_of(ctx: &PageContext, builds: &[ImpactBuild], side: &str) -> Markup {
    let weburl = &ctx.config.koji_config.weburl;
    html! {
        @for b in builds.iter().filter(|b| b.side == side) {
            div.impact-build {
                (badge(&b.state)) " "
                @match b.task_id {
                    Some(task) => a href=(koji_task_url(weburl, task)) { "Task " (task) },
                    None => span.muted { "no task" },
                }
                @if b.attempt > 1 { " " span.muted { "(attempt " (b.attempt) ")" } }
                @if let Some(note) = &b.note { " " span.infra-note { (note) } }
            }
        }
    }
}

fn package_rows(ctx: &PageContext, collection: &str, p: &ImpactedPackage) -> Markup {
    let problems = p.problems();
    let broken = look(&p.verdict) == "failing"
        || p.build_verdict
            .as_deref()
            .is_some_and(|v| look(v) == "failing");
    html! {
        tr class=[broken.then_some("impact-failing")] {
            td { a href={ "/package/" (encode(&p.package)) "?collection=" (encode(collection)) } { (p.package) } }
            td { (badge(&p.verdict)) }
            td.num { @if let Some(d) = p.distance { (d) } @else { span.muted { "—" } } }
            td {
                @match (&p.build_verdict, p.build_planned) {
                    (Some(v), _) => (badge(v)),
                    (None, true) => span.muted { "pending" },
                    (None, false) => span.muted { "not built" },
                }
            }
            td { (builds_of(ctx, &p.builds, "change")) }
            td { (builds_of(ctx, &p.builds, "base")) }
        }
        @if !problems.is_empty() || !p.changes.is_empty() {
            tr.details {
                td colspan="6" {
                    @if !problems.is_empty() {
                        p.muted { @if p.change_resolved { "Problems of the base:" } @else { "Problems with the change:" } }
                        @for problem in problems { pre.problem { (problem) } }
                    }
                    @if !p.changes.is_empty() {
                        ul.impact-changes {
                            @for ch in &p.changes {
                                li {
                                    (ch.name) " "
                                    span.evr { (ch.prev.as_deref().unwrap_or("(none)")) }
                                    " → "
                                    span.evr { (ch.curr.as_deref().unwrap_or("(none)")) }
                                    @if let Some(d) = ch.distance { " " span.muted { "(distance " (d) ")" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The affected packages, in the report's order (regressions first).
fn packages(ctx: &PageContext, report: &ImpactReport) -> Markup {
    html! {
        section.card.wide #packages {
            h2 { "Packages" }
            @if report.packages.is_empty() {
                p.muted { "No tracked package is affected." }
            } @else {
                @if (report.packages.len() as i64) < report.counts.affected {
                    p.muted.listed {
                        "The first " (report.packages.len()) " of " (report.counts.affected)
                        " affected packages, the most serious first; all of them: "
                        a href={ "/api/v1/impact-checks/" (report.check.id) } { "the API" }
                        " or " code { "koschei-admin impact-check show " (report.check.id) } "."
                    }
                }
                table.impact {
                    thead { tr {
                        th { "Package" } th { "Resolution" } th.num { "Distance" } th { "Builds" }
                        th { "With the change" } th { "Baseline" }
                    } }
                    tbody { @for p in &report.packages { (package_rows(ctx, &report.check.collection, p)) } }
                }
            }
        }
    }
}

fn history(ctx: &PageContext, report: &ImpactReport) -> Markup {
    html! {
        section.card.wide #history {
            h2 { "History" }
            ul.history {
                @for e in &report.events {
                    li {
                        (layout::time(ctx, e.time)) " " (badge(&e.state))
                        @if let Some(note) = &e.note { ": " (note) }
                    }
                }
            }
        }
    }
}

/// A check's whole page content.
pub fn report(ctx: &PageContext, report: &ImpactReport) -> Markup {
    let c = &report.check;
    html! {
        h1 { "Impact check " (c.id) ": " (c.change()) }
        p { a href="/impact-checks" { "All impact checks" } }
        div.cards { (summary(ctx, c)) (counts(report)) }
        (packages(ctx, report))
        (history(ctx, report))
    }
}
