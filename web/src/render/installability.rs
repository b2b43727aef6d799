//! Installability on the pages: a package page's card (its binaries in the collection's
//! latest checked repo, each installed alone into an empty root, their problems, install
//! set sizes, whether a rebuild would fix the uninstallable ones, and a chart of the
//! install size over the recorded history), a collection
//! page's uninstallable binaries, and the statistics page's uninstallable counts.

use koschei_core::installability::{
    megabytes, BinaryInstallability, CollectionInstallability, InstallabilityPass,
    PackageInstallability, RebuildCheck,
};
use maud::{html, Markup};

use super::charts::{self, Series};
use super::layout::koji_task_url;
use crate::http::query::encode;

fn binary_row(b: &BinaryInstallability) -> Markup {
    html! {
        tr class=@if !b.installable { "uninstallable" } {
            td { (b.name) "-" (b.evr) "." (b.arch) }
            td { @if b.installable { "yes" } @else { strong { "no" } } }
            td.num { @if b.installable { (b.install_count) } }
            td.num { @if b.installable { (megabytes(b.download_size)) } }
            td.num { @if b.installable { (megabytes(b.install_size)) } }
            td.num { (b.since_repo_id) }
        }
        @if !b.installable {
            tr.problems {
                td colspan="6" { @for problem in &b.problems { pre { (problem) } } }
            }
        }
    }
}

/// Installed size of the binary named like the package (else the first) at each of its
/// history rows where it was installable.
fn size_chart(report: &PackageInstallability) -> Option<Markup> {
    let main = report
        .binaries
        .iter()
        .find(|b| b.name == report.package)
        .or(report.binaries.first())?;
    let points: Vec<(String, f64, f64)> = report
        .history
        .iter()
        .filter(|h| h.name == main.name && h.arch == main.arch && h.installable == Some(true))
        .map(|h| {
            let label = format!("repo {}", h.repo_id);
            let installed = h.install_size.unwrap_or(0) as f64 / 1e6;
            let download = h.download_size.unwrap_or(0) as f64 / 1e6;
            (label, download, installed - download)
        })
        .collect();
    if points.len() < 2 {
        return None;
    }
    let categories: Vec<String> = points.iter().map(|p| p.0.clone()).collect();
    let series = [
        Series {
            name: "MB to download".into(),
            color: "#3465a4",
            values: points.iter().map(|p| p.1).collect(),
        },
        Series {
            name: "MB more once installed".into(),
            color: "#8ae234",
            values: points.iter().map(|p| p.2.max(0.0)).collect(),
        },
    ];
    let title = format!("Install size of {}.{} over time", main.name, main.arch);
    Some(charts::stacked_bars(&title, &categories, &series))
}

/// Whether a rebuild would fix it, with the rebuilt binaries that still do not install.
fn rebuild_verdict(check: &RebuildCheck, weburl: &str) -> Markup {
    let class = match check.installable {
        Some(true) => "rebuild fixes",
        Some(false) => "rebuild fails",
        None => "rebuild muted",
    };
    html! {
        div class=(class) {
            p {
                (check.verdict()) " "
                a href=(koji_task_url(weburl, check.task_id)) { "Task " (check.task_id) }
            }
            @for b in check.binaries.iter().filter(|b| !b.installable) {
                p { (b.name) "-" (b.evr) "." (b.arch) ":" }
                @for problem in &b.problems { pre { (problem) } }
            }
        }
    }
}

/// The package page's card; `weburl` is Koji's web UI (for task links).
pub fn card(report: &PackageInstallability, weburl: &str) -> Markup {
    let installable = report.binaries.iter().filter(|b| b.installable).count();
    html! {
        section.card.wide #installability {
            h2 { "Installability" }
            @match report.checked_repo_id {
                None => p.muted { "No repo of this collection has been checked yet." },
                Some(_) if report.binaries.is_empty() => {
                    p.muted { "The collection's latest checked repo has no binary package of it." }
                },
                Some(repo) => {
                    p {
                        (installable) " of " (report.binaries.len())
                        " binary packages installable in repo " (repo)
                        ", each installed alone into an empty root."
                    }
                    table.installability {
                        thead { tr {
                            th { "Binary package" } th { "Installable" } th.num { "Packages" }
                            th.num { "Download" } th.num { "Installed" } th.num { "Since repo" }
                        } }
                        tbody { @for b in &report.binaries { (binary_row(b)) } }
                    }
                    @if let Some(check) = &report.rebuild { (rebuild_verdict(check, weburl)) }
                    @if let Some(chart) = size_chart(report) { (chart) }
                },
            }
        }
    }
}

/// A collection page's card: its uninstallable binaries by source package.
pub fn collection_card(report: &CollectionInstallability) -> Markup {
    let collection = encode(&report.collection);
    html! {
        section.card.wide #installability {
            h2 { "Uninstallable binary packages" }
            @match (report.checked_repo_id, report.passes.last()) {
                (None, _) => p.muted { "No repo of this collection has been checked yet." },
                (Some(repo), pass) => {
                    p {
                        (report.uninstallable.len())
                        @if let Some(p) = pass { " of " (p.binaries) } " binary packages of repo "
                        (repo) " cannot be installed."
                    }
                    @if !report.uninstallable.is_empty() {
                        table.installability {
                            thead { tr { th { "Source package" } th { "Binary package" } th { "Problems" } } }
                            tbody { @for b in &report.uninstallable {
                                tr.uninstallable {
                                    td { a href={ "/package/" (encode(&b.source_name)) "?collection=" (collection) } { (b.source_name) } }
                                    td { (b.name) "-" (b.evr) "." (b.arch) }
                                    td { @for problem in &b.problems { pre { (problem) } } }
                                }
                            } }
                        }
                    }
                },
            }
        }
    }
}

/// The statistics page's chart: uninstallable binaries of each checked repo of each
/// collection, given as (collection name, its recent checked repos); `None` when no repo
/// was checked.
pub fn uninstallable_chart(passes: &[(String, Vec<InstallabilityPass>)]) -> Option<Markup> {
    let mut categories = Vec::new();
    let mut counts = Vec::new();
    for (collection, passes) in passes {
        for p in passes {
            categories.push(format!("{collection} {}", p.repo_id));
            counts.push(f64::from(p.uninstallable));
        }
    }
    if categories.is_empty() {
        return None;
    }
    let series = [Series {
        name: "uninstallable binary packages".into(),
        color: "#cc0000",
        values: counts,
    }];
    Some(charts::stacked_bars(
        "Uninstallable binary packages per checked repo",
        &categories,
        &series,
    ))
}
