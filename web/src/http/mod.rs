//! HTTP plumbing between the network and a page handler: the session
//! cookie and CSRF check, login, the per-request page context, query and
//! form parsing, request limits, conditional GET and compression, security
//! headers, the access log, redirects and static files.

pub mod access_log;
pub mod auth;
pub mod compression;
pub mod conditional;
pub mod context;
pub mod forms;
pub mod limits;
pub mod peer;
pub mod query;
pub mod redirect;
pub mod security_headers;
pub mod session;
pub mod static_files;
