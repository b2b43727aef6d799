//! The scheduler (the original's `koschei/backend/services/scheduler.py`): decides which
//! package to build next and submits it to Koji.

pub mod candidates;
pub mod decision;
pub mod impact;
