//! koschei-web's event-driven cache of anonymous answers: never stale,
//! dropped exactly when the database says its data changed.
//!
//! * [`tags`]: what an answer depends on, and the clock of changes.
//! * [`feed`]: the `LISTEN koschei_change` connection feeding the clock,
//!   and the barrier that makes every earlier commit visible to a request.
//! * [`responses`]: the middleware storing and serving answers.
//!
//! Handlers opt in by attaching [`Tags`] to their response.

pub mod feed;
pub mod responses;
pub mod tags;

pub use responses::PageCache;
pub use tags::{Tag, Tags};
