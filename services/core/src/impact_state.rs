//! The states of an impact check (`impact_check.state`), shared by the check
//! ([`crate::impact`]) and its messages ([`crate::impact_messages`]).

/// Waiting for the resolver (also while the side tag has no repo yet).
pub const QUEUED: &str = "queued";
/// A resolver is comparing the repos.
pub const RESOLVING: &str = "resolving";
/// The affected packages are being built (the scheduler submits, results come in).
pub const BUILDING: &str = "building";
/// Done: the affected packages are recorded.
pub const COMPLETE: &str = "complete";
/// Failed; `note` says why.
pub const ERROR: &str = "error";
