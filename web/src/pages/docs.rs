//! `/documentation`: what Koschei is and how it decides what to build. The
//! sections answer the questions of the original's page
//! (`templates/documentation.html`: what it is, its benefits, how it works,
//! Koji load, adding packages, repositories, more Koji instances), in that
//! order, with ours (states, infrastructure failures, API) after them.

use axum::routing::get;
use axum::Router;
use koschei_core::model::PackageState;
use maud::{html, Markup};

use crate::http::context::PageContext;
use crate::render::layout::{self, Tab};
use crate::render::state_badges;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/documentation", get(documentation))
}

/// The documentation page.
pub async fn documentation(ctx: PageContext) -> Markup {
    let p = &ctx.config.priorities;
    let k = &ctx.config.koji_config;
    let content = html! {
        article.documentation {
            h1 { "Documentation" }
            h2 #what { "What is Koschei?" }
            p {
                "Koschei is a continuous-integration service for RPM packages. It watches the Koji build "
                "system and, for every tracked package of every collection (a distribution release bound to "
                "a Koji target), checks whether the package's build dependencies can still be installed and "
                "scratch-builds it again when its dependencies changed enough. Packagers learn about "
                "\"fails to build from source\" (FTBFS) problems soon after the change that caused them, "
                "not at the next mass rebuild."
            }
            h2 #benefits { "What does it bring?" }
            ul {
                li { "Breakage caused by a dependency update is found within hours, with the list of changed dependencies." }
                li { "Unresolvable build dependencies are reported without wasting a build." }
                li { "Packages are rebuilt regularly even without changes, so bit-rot is noticed." }
                li { "Infrastructure problems (canceled or timed-out builds, Koji faults) are kept apart from package failures." }
            }
            h2 #how { "How does it work?" }
            h3 #priority { "How it decides what to build" }
            p {
                "When Koji generates a new build repository, Koschei resolves the BuildRequires of every "
                "tracked package against it and records which dependencies changed since the package's last "
                "build and how far away they are in the dependency graph. Each package has a priority:"
            }
            pre { "priority = manual + static + coefficient × (dependency + build + time)" }
            ul {
                li { strong { "dependency" } ": grows with each changed dependency, " (p.package_update) " divided by its distance." }
                li { strong { "build" } ": " (p.failed_build_priority) " when a package starts failing (to confirm the failure), " (p.newly_added) " for new packages." }
                li { strong { "time" } ": grows with the time since the last build: 0 after " (p.t0) " hours and " (p.build_threshold) " after " (p.t1) " hours; −30 for very recent builds." }
                li { strong { "manual" } " and " strong { "static" } ": set by users and administrators; manual priority is reset by the next build." }
                li { strong { "coefficient" } ": per collection, lowers the dynamic part for older releases." }
            }
            p {
                "A package is scheduled when its priority reaches " strong { (p.build_threshold) } ". Packages "
                "that cannot be scheduled (untracked, blocked, running build, unresolvable dependencies, broken "
                "base buildroot, waiting after an infrastructure failure) have no priority; the package page "
                "lists the reasons. Every build records the priority components it was submitted with, shown "
                "as \"Why it was built\"."
            }
            h2 #load { "Does it overload Koji?" }
            p {
                "Koschei submits at most " (k.max_builds) " builds at a time and only while the load of the Koji "
                "builders of the needed architectures is below " (k.load_threshold) ", so it only uses "
                "otherwise idle capacity. Builds use the architectures " (k.build_arches.join(", ")) " unless the "
                "package has an arch override."
            }
            h2 #adding { "How do I add my packages?" }
            p {
                "Log in, open " a href="/add-packages" { "Add packages" } ", enter the package names and choose the "
                "collection. Only packages Koji knows in the collection's tag can be added; new packages appear "
                "after the backend polls Koji. Packages can be grouped: create a group under "
                a href="/groups" { "Groups" } " and maintain it with others."
            }
            h2 #repos { "Which repositories does it use?" }
            p {
                "Dependencies are resolved against the Koji build repository of each collection's build tag "
                "(the repository Koji itself builds in), for the x86_64 architecture, together with the "
                "collection's build group (the minimal buildroot)."
            }
            h2 #instances { "Can one instance watch several Koji hubs?" }
            p {
                "One instance talks to one primary Koji hub, where it submits its scratch builds. It can "
                "also follow a second, read-only hub (" code { "[secondary_koji_config]" } "): collections "
                "in secondary mode take their packages, repositories and real builds from that hub and are "
                "still built on the primary one. Watching further hubs needs another Koschei instance."
            }
            h2 #states { "Package states" }
            dl {
                dt { (state_badges::state_badge(PackageState::Ok.as_str())) } dd { "The last complete build succeeded." }
                dt { (state_badges::state_badge(PackageState::Failing.as_str())) } dd { "The last complete build failed." }
                dt { (state_badges::state_badge(PackageState::Unresolved.as_str())) } dd { "The build dependencies cannot be installed; no build is attempted until they can." }
                dt { (state_badges::state_badge(PackageState::Unknown.as_str())) } dd { "No result yet (just added, or not resolved yet)." }
                dt { (state_badges::state_badge(PackageState::Untracked.as_str())) } dd { "Koschei does not follow the package in this collection." }
                dt { (state_badges::state_badge(PackageState::Blocked.as_str())) } dd { "The package is blocked in Koji." }
            }
            h2 #infra { "Infrastructure failures" }
            p {
                "Builds that were canceled, timed out or failed for infrastructure reasons are kept in the "
                "history, marked as such, and never change a package's state. The package is retried after an "
                "exponentially growing delay."
            }
            h2 #api { "JSON API" }
            p {
                "Read-only data is available as JSON, described by the OpenAPI document at "
                a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } ". Status badges for a package are at "
                code { "/badge/<collection>/<package>.svg" } " and " code { "….png" } "."
            }
        }
    };
    layout::page(&ctx, "Documentation", Tab::Documentation, content)
}
