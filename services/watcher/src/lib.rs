//! Koschei watcher: consumes Koji's fedora-messaging messages to follow
//! builds, tags and repos (the original's
//! `koschei/plugins/fedmsg_plugin/backend/services/watcher.py`), and publishes
//! Koschei's state changes from the transactional outbox (the original's
//! `koschei/plugins/fedmsg_plugin/backend/publisher.py`) with the fedora-messaging
//! envelope ([`envelope`]).

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
