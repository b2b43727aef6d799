//! The SVG status badge of a package: `koschei | <state>` in the
//! shields.io style, coloured by the package state.

use koschei_core::model::PackageState;
use maud::html;

/// The state's colour: the shields.io colours of the original's badges
/// (`aux/update-badges.sh`): ok brightgreen, failing and unresolved red,
/// blocked orange, untracked yellow, anything else light grey.
fn color(state: &str) -> &'static str {
    match state.parse::<PackageState>() {
        Ok(PackageState::Ok) => "#4c1",
        Ok(PackageState::Failing | PackageState::Unresolved) => "#e05d44",
        Ok(PackageState::Blocked) => "#fe7d37",
        Ok(PackageState::Untracked) => "#dfb317",
        Ok(PackageState::Unknown) | Err(_) => "#9f9f9f",
    }
}

/// Approximate text width in the badge font (Verdana 11px), in whole
/// pixels so that the PNG has exactly the SVG's size.
fn text_width(text: &str) -> f64 {
    (text.chars().count() as f64 * 6.8 + 10.0).round()
}

/// The badge SVG for a state.
pub fn badge_svg(label: &str, state: &str) -> String {
    let (lw, rw) = (text_width(label), text_width(state));
    let w = lw + rw;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(w) height="20" role="img" aria-label={ (label) ": " (state) } {
            title { (label) ": " (state) }
            linearGradient id="s" x2="0" y2="100%" {
                stop offset="0" stop-color="#bbb" stop-opacity=".1" {}
                stop offset="1" stop-opacity=".1" {}
            }
            clipPath id="r" { rect width=(w) height="20" rx="3" fill="#fff" {} }
            g clip-path="url(#r)" {
                rect width=(lw) height="20" fill="#555" {}
                rect x=(lw) width=(rw) height="20" fill=(color(state)) {}
                rect width=(w) height="20" fill="url(#s)" {}
            }
            g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11" {
                text x=(lw / 2.0) y="15" fill="#010101" fill-opacity=".3" { (label) }
                text x=(lw / 2.0) y="14" { (label) }
                text x=(lw + rw / 2.0) y="15" fill="#010101" fill-opacity=".3" { (state) }
                text x=(lw + rw / 2.0) y="14" { (state) }
            }
        }
    }
    .into_string()
}
