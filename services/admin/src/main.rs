//! Koschei admin command-line interface

fn main() {
    eprintln!("koschei-admin: not built yet");
    std::process::exit(2);
}
