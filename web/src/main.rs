//! Koschei web dashboard and JSON API

fn main() {
    eprintln!("koschei-web: not built yet");
    std::process::exit(2);
}
