//! Dependency changes (the original's `depchange_row` in
//! `templates/macros.html`): pending changes of a package since its last
//! build and the changes applied by a build, rendered with the previous and
//! current EVR and the distance.

use std::cmp::Ordering;

use koschei_core::evr::Evr;
use maud::{html, Markup};
use sqlx::PgPool;

use crate::http::query::{encode, to_query};

/// One changed dependency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DepChange {
    /// The build that applied the change (`None` for pending changes).
    pub build_id: Option<i32>,
    pub name: String,
    pub prev_epoch: Option<i32>,
    pub prev_version: Option<String>,
    pub prev_release: Option<String>,
    pub curr_epoch: Option<i32>,
    pub curr_version: Option<String>,
    pub curr_release: Option<String>,
    pub distance: Option<i32>,
}

const CHANGE_COLUMNS: &str = "COALESCE(cd.name, pd.name) AS name,
    pd.epoch AS prev_epoch, pd.version AS prev_version, pd.release AS prev_release,
    cd.epoch AS curr_epoch, cd.version AS curr_version, cd.release AS curr_release,
    ch.distance";

/// Pending dependency changes of a package, nearest first.
pub async fn unapplied_changes(pool: &PgPool, package_id: i32) -> sqlx::Result<Vec<DepChange>> {
    sqlx::query_as(&format!(
        "SELECT NULL::int AS build_id, {CHANGE_COLUMNS}
         FROM unapplied_change ch
         LEFT JOIN dependency pd ON pd.id = ch.prev_dep_id
         LEFT JOIN dependency cd ON cd.id = ch.curr_dep_id
         WHERE ch.package_id = $1
         ORDER BY ch.distance NULLS LAST, 2"
    ))
    .bind(package_id)
    .fetch_all(pool)
    .await
}

/// Changes applied by the given builds, nearest first.
pub async fn applied_changes(pool: &PgPool, build_ids: &[i32]) -> sqlx::Result<Vec<DepChange>> {
    if build_ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(&format!(
        "SELECT ch.build_id, {CHANGE_COLUMNS}
         FROM applied_change ch
         LEFT JOIN dependency pd ON pd.id = ch.prev_dep_id
         LEFT JOIN dependency cd ON cd.id = ch.curr_dep_id
         WHERE ch.build_id = ANY($1)
         ORDER BY ch.distance NULLS LAST, 2"
    ))
    .bind(build_ids)
    .fetch_all(pool)
    .await
}

impl DepChange {
    pub fn prev(&self) -> Option<Evr> {
        Some(Evr::new(
            self.prev_epoch,
            self.prev_version.clone()?,
            self.prev_release.clone()?,
        ))
    }

    pub fn curr(&self) -> Option<Evr> {
        Some(Evr::new(
            self.curr_epoch,
            self.curr_version.clone()?,
            self.curr_release.clone()?,
        ))
    }

    /// added / removed / upgraded / downgraded.
    pub fn kind(&self) -> &'static str {
        match (self.prev(), self.curr()) {
            (None, _) => "added",
            (_, None) => "removed",
            (Some(p), Some(c)) => match p.rpm_cmp(&c) {
                Ordering::Greater => "downgraded",
                _ => "upgraded",
            },
        }
    }
}

/// `[E:]V-R` with long releases shortened (13 characters and `...`).
fn display_evr(evr: &Evr) -> String {
    let release = if evr.release.chars().count() > 16 {
        format!("{}...", evr.release.chars().take(13).collect::<String>())
    } else {
        evr.release.clone()
    };
    Evr::new(evr.epoch, evr.version.clone(), release).to_string()
}

/// Splits at the separators `-._~:` keeping them as their own tokens.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if matches!(c, '-' | '.' | '_' | '~' | ':') {
            if start < i {
                out.push(&s[start..i]);
            }
            out.push(&s[i..i + 1]);
            start = i + 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// An EVR with its first component that differs from `other` highlighted.
fn evr_markup(evr: Option<&Evr>, other: Option<&Evr>) -> Markup {
    let Some(evr) = evr else {
        return html! { span.muted { "—" } };
    };
    let text = display_evr(evr);
    let other_text = other.map(display_evr).unwrap_or_default();
    let mine = tokens(&text);
    let theirs = tokens(&other_text);
    let diff = mine
        .iter()
        .zip(theirs.iter().map(Some).chain(std::iter::repeat(None)))
        .position(|(a, b)| b != Some(a));
    html! {
        span.evr title=(evr.to_string()) {
            @for (i, t) in mine.iter().enumerate() {
                @if Some(i) == diff && other.is_some() { strong { (t) } } @else { (t) }
            }
        }
    }
}

fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "added" => "＋",
        "removed" => "－",
        "downgraded" => "↓",
        _ => "↑",
    }
}

/// A table of changes; the first `shown` rows are visible, the rest in a
/// collapsible section. Names link to "affected by" in `collection`.
pub fn render_changes(changes: &[DepChange], collection: &str, shown: usize) -> Markup {
    let row = |c: &DepChange| {
        let (prev, curr) = (c.prev(), c.curr());
        let affected = match (&prev, &curr) {
            (Some(p), Some(n)) => {
                let (e1, e2) = (
                    p.epoch.unwrap_or(0).to_string(),
                    n.epoch.unwrap_or(0).to_string(),
                );
                Some(format!(
                    "/affected-by/{}{}",
                    encode(&c.name),
                    to_query(&[
                        ("epoch1", &e1),
                        ("version1", &p.version),
                        ("release1", &p.release),
                        ("epoch2", &e2),
                        ("version2", &n.version),
                        ("release2", &n.release),
                        ("collection", collection),
                    ])
                ))
            }
            _ => None,
        };
        let kind = c.kind();
        html! {
            tr class={ "change change-" (kind) } {
                td {
                    @if let Some(href) = &affected {
                        a href=(href) title="Packages possibly affected by this change" { (c.name) }
                    } @else { (c.name) }
                }
                td { (evr_markup(prev.as_ref(), curr.as_ref())) }
                td.change-kind title=(kind) { (kind_icon(kind)) " " (kind) }
                td { (evr_markup(curr.as_ref(), prev.as_ref())) }
                td.num { @if let Some(d) = c.distance {
                    span.badge title="Distance in the dependency graph (1 = direct BuildRequires)" { (d) }
                } }
            }
        }
    };
    let head = html! {
        thead { tr { th { "Dependency" } th { "Previous" } th { "" } th { "Current" } th.num { "Distance" } } }
    };
    html! {
        table.changes {
            (head)
            tbody { @for c in changes.iter().take(shown) { (row(c)) } }
        }
        @if changes.len() > shown {
            details {
                summary { "Show " (changes.len() - shown) " more" }
                table.changes { (head) tbody { @for c in changes.iter().skip(shown) { (row(c)) } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(prev: Option<(&str, &str)>, curr: Option<(&str, &str)>) -> DepChange {
        DepChange {
            build_id: None,
            name: "dep".into(),
            prev_epoch: prev.map(|_| 0),
            prev_version: prev.map(|p| p.0.into()),
            prev_release: prev.map(|p| p.1.into()),
            curr_epoch: curr.map(|_| 0),
            curr_version: curr.map(|c| c.0.into()),
            curr_release: curr.map(|c| c.1.into()),
            distance: Some(1),
        }
    }

    #[test]
    fn kinds_and_highlighting() {
        assert_eq!(change(None, Some(("1", "1"))).kind(), "added");
        assert_eq!(change(Some(("1", "1")), None).kind(), "removed");
        assert_eq!(
            change(Some(("1.10", "1")), Some(("1.9", "1"))).kind(),
            "downgraded"
        );
        assert_eq!(
            change(Some(("1.9", "1")), Some(("1.10", "1"))).kind(),
            "upgraded"
        );
        let a = Evr::new(None, "1.2.3", "1.fc25");
        let b = Evr::new(None, "1.2.4", "1.fc25");
        let html = evr_markup(Some(&b), Some(&a)).into_string();
        assert!(html.contains("1.2.<strong>4</strong>-1.fc25"), "{html}");
        let long = Evr::new(Some(2), "1", "0.1.20260101git0123456789");
        assert_eq!(display_evr(&long), "2:1-0.1.20260101g...");
    }
}
