//! Koschei watcher: consumes Koji's fedora-messaging messages to follow
//! builds, tags and repos (spec §1.3), and publishes Koschei's state changes
//! from the transactional outbox (spec §1.5, §5.1) with the fedora-messaging
//! envelope.

pub mod broker;
pub mod bus;
pub mod consumer;
pub mod envelope;
pub mod fedora_messaging_conf;
pub mod handler;
pub mod health;
pub mod koji_message;
pub mod publisher;
pub mod service;
pub mod stats;
pub mod tag_scope;
