//! The scheduler (spec §1.1, §2): decides which package to build next and
//! submits it to Koji; plus its benchmark.

pub mod bench;
pub mod candidates;
pub mod decision;
