//! The JSON API under `/api/v1`: read endpoints for dashboards and tools
//! (the original's `koschei/frontend/api.py` had only `/api/v1/packages`).
//!
//! * [`types`]: the JSON objects answered, [`params`]: the parameters
//!   read; both also make the OpenAPI document ([`openapi`]), so what is
//!   documented is what is served.
//! * [`packages`], [`builds`], [`collections`], [`groups`], [`impact`]: the
//!   handlers; [`impact`] also queues impact checks, the API's one write.
//! * [`list`]: lists paged or whole, streamed from the database.
//! * [`routes`](mod@routes): the route list and the document made from it;
//!   [`error`]: the JSON error answer.
//!
//! Errors are JSON objects `{"error": "..."}`; an unknown collection is
//! always 404.

pub mod builds;
pub mod collections;
pub mod error;
pub mod groups;
pub mod impact;
pub mod list;
pub(crate) mod lookup;
pub mod openapi;
pub mod packages;
pub mod params;
pub mod routes;
pub mod types;

pub use error::{ApiError, ApiResult};
pub use routes::{document, router, routes};
