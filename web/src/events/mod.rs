//! The live event stream `GET /api/v1/events` (Server-Sent Events) of the
//! event log `message_outbox`: package and collection state changes, build
//! starts and ends, each with its position `seq`.
//!
//! * [`log`]: reading the log by position, the event as sent.
//! * [`hub`]: the one reader per process broadcasting new events.
//! * [`filter`]: the `collection`/`package`/`group` filters.
//! * [`stream`](mod@stream): the handler, a client's replay and live feed.
//!
//! `web/static/live.js` uses the stream to update the state icons of the
//! package tables and the package page.

pub mod filter;
pub mod hub;
pub mod log;
pub mod stream;

pub use hub::EventHub;
