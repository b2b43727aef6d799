//! Starting the `koji-sim` binary for a test.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use koschei_koji::{KojiClient, KojiConfig};

/// A running koji-sim process, killed on drop.
pub struct SimProcess {
    /// XML-RPC endpoint.
    pub hub: String,
    /// File tree root.
    pub topurl: String,
    /// The state directory.
    pub state_dir: tempfile::TempDir,
    child: Child,
}

/// The hand-written test seed.
pub fn tiny_seed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds/tiny")
}

/// The repodata file `name` (`primary.xml.gz`…) of repo `id`'s x86_64 tree under `root`
/// (the simulator's state directory).
pub fn repodata_file(root: &Path, id: i64, name: &str) -> PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.ends_with(format!("x86_64/repodata/{name}"))
                && path.iter().any(|c| c.to_str() == Some(&id.to_string()))
            {
                return path;
            }
        }
    }
    panic!("no {name} of repo {id} under {}", root.display());
}

impl SimProcess {
    /// Starts koji-sim on the tiny seed with extra arguments.
    pub fn start(extra: &[&str]) -> SimProcess {
        Self::start_on(&tiny_seed(), extra)
    }

    /// Starts koji-sim on seed directory `seed` with extra arguments.
    pub fn start_on(seed: &std::path::Path, extra: &[&str]) -> SimProcess {
        let state_dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_koji-sim"))
            .arg("--seed")
            .arg(seed)
            .arg("--state-dir")
            .arg(state_dir.path())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("koji-sim starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("koji-sim prints its URLs");
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
                .to_owned()
        };
        assert!(
            line.starts_with("koji-sim: "),
            "unexpected first line {line:?}"
        );
        SimProcess {
            hub: field("hub"),
            topurl: field("topurl"),
            state_dir,
            child,
        }
    }

    /// A client logged in with a client certificate (koji-sim takes it on trust: user
    /// `koschei`); the certificate lies in the state directory.
    pub async fn logged_in_client(&self) -> KojiClient {
        let cert = self.state_dir.path().join("client.pem");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services/koji/tests/data/client.pem"),
            &cert,
        )
        .expect("test client certificate");
        KojiClient::logged_in(KojiConfig {
            cert: Some(cert),
            login: koschei_koji::LoginMethod::Certificate,
            ..KojiConfig::new(&self.hub, &self.topurl)
        })
        .await
        .expect("certificate login")
    }

    /// An anonymous client with short retries.
    pub fn client(&self) -> KojiClient {
        KojiClient::anonymous(KojiConfig {
            retry_interval: Duration::from_millis(50),
            max_retries: 2,
            multicall_chunk_size: 3,
            ..KojiConfig::new(&self.hub, &self.topurl)
        })
        .expect("client")
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
