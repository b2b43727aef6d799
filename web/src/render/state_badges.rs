//! Package and build state badges of the pages, from core's
//! [`PackageState`] and [`BuildState`] (the original draws them as icons:
//! `package_state_icon` in `koschei/frontend/model_additions.py`).

use koschei_core::model::{BuildState, CollectionState, PackageState};
use maud::{html, Markup};

/// Icon character and CSS class of a package state (the state as
/// `package_state()` names it; unknown names look like
/// [`PackageState::Unknown`]).
fn state_look(state: &str) -> (&'static str, &'static str) {
    match state.parse::<PackageState>() {
        Ok(PackageState::Ok) => ("✔", "ok"),
        Ok(PackageState::Failing) => ("✘", "failing"),
        Ok(PackageState::Unresolved) => ("⊘", "unresolved"),
        Ok(PackageState::Blocked) => ("■", "blocked"),
        Ok(PackageState::Untracked) => ("○", "untracked"),
        Ok(PackageState::Unknown) | Err(_) => ("?", "unknown"),
    }
}

/// A package state badge (icon and name).
pub fn state_badge(state: &str) -> Markup {
    let (icon, class) = state_look(state);
    html! { span class={ "state state-" (class) } title={ "Package state: " (state) } { (icon) " " (state) } }
}

/// A compact package state icon (for tables).
pub fn state_icon(state: &str) -> Markup {
    let (icon, class) = state_look(state);
    html! { span class={ "state state-" (class) } title=(state) aria-label=(state) { (icon) } }
}

/// A build state badge (`build.state` code); infrastructure outcomes are
/// labelled as such.
pub fn build_state_badge(code: i32) -> Markup {
    let (text, class) = match BuildState::from_code(code) {
        Ok(BuildState::Running) => ("running", "running"),
        Ok(BuildState::Complete) => ("complete", "ok"),
        Ok(BuildState::Failed) => ("failed", "failing"),
        Ok(BuildState::Canceled) => ("canceled (infrastructure)", "infra"),
        Ok(BuildState::TimedOut) => ("timed out (infrastructure)", "infra"),
        Ok(BuildState::InfraFailure) => ("infrastructure failure", "infra"),
        Err(_) => ("unknown", "unknown"),
    };
    html! { span class={ "state build-state state-" (class) } { (text) } }
}

/// A collection's base buildroot state (`collection_state()`), coloured
/// like the package states (unresolved as failing).
pub fn buildroot_state_badge(state: &str) -> Markup {
    let class = match state.parse::<CollectionState>() {
        Ok(CollectionState::Unresolved) => "failing",
        Ok(known) => known.as_str(),
        Err(_) => state,
    };
    html! { span class={ "state state-" (class) } title="Base buildroot state" { "buildroot " (state) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_follow_the_core_states() {
        assert_eq!(state_look("failing"), ("✘", "failing"));
        assert_eq!(state_look("unknown"), ("?", "unknown"));
        assert_eq!(state_look("no such state"), ("?", "unknown"));
        let badge = build_state_badge(BuildState::TimedOut.code()).into_string();
        assert!(
            badge.contains("state-infra") && badge.contains("timed out"),
            "{badge}"
        );
        assert!(build_state_badge(99)
            .into_string()
            .contains("state-unknown"));
    }
}
