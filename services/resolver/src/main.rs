//! Koschei resolver: resolves build dependencies against Koji repos

fn main() {
    eprintln!("koschei-resolver: not built yet");
    std::process::exit(2);
}
