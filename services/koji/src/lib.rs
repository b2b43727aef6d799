//! Koji for Koschei: the XML-RPC codec of Koji's dialect, a typed async client for every
//! call Koschei makes, and the helpers built on it (load, SRPM arches, build group,
//! BuildRequires).
//!
//! ```no_run
//! # async fn demo() -> koschei_koji::KojiResult<()> {
//! use koschei_koji::{KojiClient, KojiConfig, RepoState};
//! let koji = KojiClient::anonymous(KojiConfig::new("http://127.0.0.1:8080/kojihub", "http://127.0.0.1:8080/kojifiles"))?;
//! let repo = koji.get_repo("f99-build", RepoState::Ready).await?;
//! # Ok(()) }
//! ```

pub mod arch;
pub mod backoff;
pub mod build_group;
pub mod build_requires;
pub mod client;
pub mod config;
pub mod error;
pub mod http;
pub mod load;
pub mod model;
pub mod multicall;
pub mod negotiate;
pub mod srpm_arches;
pub mod task_rpms;
pub mod xmlrpc;

pub use arch::canon_arch;
pub use client::calls::{BuildOpts, ListTaggedOpts, ARCH_HEADERS};
pub use client::KojiClient;
pub use config::{KojiConfig, LoginMethod};
pub use error::{KojiError, KojiResult};
pub use model::*;
pub use multicall::Call;
pub use task_rpms::TaskBinary;
pub use xmlrpc::{Fault, FaultKind, Value};
