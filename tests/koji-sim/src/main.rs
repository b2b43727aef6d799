//! Koji hub simulator for tests and demos

fn main() {
    eprintln!("koji-sim: not built yet");
    std::process::exit(2);
}
