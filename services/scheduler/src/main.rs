//! Koschei scheduler: submits scratch builds by priority

fn main() {
    eprintln!("koschei-scheduler: not built yet");
    std::process::exit(2);
}
