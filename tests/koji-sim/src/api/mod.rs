//! The Koji hub calls Koschei makes (`koschei/backend/koji_util.py` and the backend
//! services in fedora-infra/koschei; listed in this crate's README), plus the few calls
//! Koji's own client and tools make, with Koji's argument names, return shapes and
//! faults. [`call`] dispatches a method to its Koji area's module.

mod builds;
mod caller;
mod dispatch;
mod external_repos;
mod groups;
mod hosts;
mod repos;
mod session;
mod side_tags;
mod tags;
mod tasks;
mod values;

pub use builds::{build_summary, find_build};
pub use caller::Caller;
pub use dispatch::call;
pub use tags::{find_tag, set_tagged};
