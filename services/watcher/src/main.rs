//! Koschei watcher: consumes Koji messages and publishes state changes

fn main() {
    eprintln!("koschei-watcher: not built yet");
    std::process::exit(2);
}
