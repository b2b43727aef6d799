//! The installability card of a package page: the package's binaries in the collection's
//! latest checked repo (each installed alone into an empty root), their problems, install
//! set sizes, and a chart of the install size over the recorded history.

use koschei_core::installability::{BinaryInstallability, PackageInstallability};
use maud::{html, Markup};

use super::charts::{self, Series};

fn mb(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn binary_row(b: &BinaryInstallability) -> Markup {
    html! {
        tr class=@if !b.installable { "uninstallable" } {
            td { (b.name) "-" (b.evr) "." (b.arch) }
            td { @if b.installable { "yes" } @else { strong { "no" } } }
            td.num { @if b.installable { (b.install_count) } }
            td.num { @if b.installable { (mb(b.download_size)) } }
            td.num { @if b.installable { (mb(b.install_size)) } }
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

/// The card.
pub fn card(report: &PackageInstallability) -> Markup {
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
                    @if let Some(chart) = size_chart(report) { (chart) }
                },
            }
        }
    }
}
