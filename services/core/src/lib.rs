//! Shared library of the Koschei services: configuration, the data model's
//! enums, RPM EVR comparison, database access and the operations several
//! services share.

pub mod audit;
pub mod backend;
pub mod builds;
pub mod cleanup;
pub mod collection_copy;
pub mod collections;
pub mod config;
pub mod consistency;
pub mod db;
pub mod error;
pub mod evr;
#[cfg(feature = "test-fixtures")]
pub mod fixtures;
pub mod group_sync;
pub mod groups;
pub mod impact;
pub mod impact_builds;
pub mod impact_messages;
pub mod impact_state;
pub mod inspect;
pub mod installability;
pub mod koji_sessions;
pub mod model;
pub mod notices;
pub mod outbox;
pub mod packages;
pub mod pagure;
pub mod refresh;
pub mod resolution;
pub mod service;
pub mod task_adoption;
pub mod tasks;
pub mod testdata;

pub use backend::Backend;
pub use config::Config;
