//! HTML building blocks shared by the pages: the page frame and its
//! helpers, the package table, dependency change rows, charts, the PNG
//! badge, the installability card, impact check reports and `{placeholder}` templates.

pub mod badge;
pub mod badge_png;
pub mod charts;
pub mod deps;
pub mod error_page;
pub mod impact;
pub mod installability;
pub mod layout;
pub mod package_table;
pub mod state_badges;
pub mod template;
