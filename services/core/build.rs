//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds the
//! directory at compile time and does not track new files by itself.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
