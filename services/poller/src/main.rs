//! Koschei poller: polls Koji for build states, packages and real builds

fn main() {
    eprintln!("koschei-poller: not built yet");
    std::process::exit(2);
}
