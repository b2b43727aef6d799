//! Ctrl-C stops the demo completely, as a person does it: `scripts/run` runs in a
//! pseudo-terminal (util-linux `script`), on the tiny seed with the debug binaries and a
//! state directory and ports of its own. Once it says "Koschei is running", a Ctrl-C is
//! typed (the terminal sends SIGINT to the whole foreground process group, services
//! included); while it stops RabbitMQ, a second Ctrl-C. The terminal stays open
//! afterwards (no hang-up signal cleans anything up), and then no process of that run —
//! PostgreSQL, RabbitMQ's Erlang VM, epmd, koji-sim, a Koschei service, the churn — may
//! be left, and none of its ports may answer.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use koschei_e2e::{binary, env_var};

/// How long a step may take before the test gives up (hang protection only).
const STEP: Duration = Duration::from_secs(240);

/// A port `p` with `p + 20000` (RabbitMQ's distribution port) free as well.
fn free_port_pair(taken: &[u16]) -> u16 {
    (21000..45000)
        .step_by(7)
        .map(|p| p + (std::process::id() % 7) as u16)
        .find(|p| {
            !taken.contains(p)
                && TcpListener::bind(("127.0.0.1", *p)).is_ok()
                && TcpListener::bind(("127.0.0.1", *p + 20000)).is_ok()
        })
        .expect("a free port")
}

/// The terminal: what the demo printed, line by line, and its keyboard.
struct Terminal {
    script: Child,
    keyboard: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Terminal {
    fn open(command: &str, env: &[(&str, String)]) -> Terminal {
        // SIGINT as a terminal's shell leaves it, even if this test inherited it ignored
        // (started in the background): an ignored SIGINT cannot be trapped.
        let mut script = Command::new("env")
            .args([
                "--default-signal=INT",
                "script",
                "-qfec",
                command,
                "/dev/null",
            ])
            .env("SHELL", "/bin/bash")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("util-linux script runs");
        let keyboard = script.stdin.take().expect("stdin");
        let out = script.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Terminal {
            script,
            keyboard,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads until a line containing `text`; false when the terminal closed first.
    fn wait_for(&mut self, text: &str) -> bool {
        loop {
            match self.lines.recv_timeout(STEP) {
                Ok(line) => {
                    println!("| {line}");
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return false,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no {text:?}; the terminal showed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn ctrl_c(&mut self) {
        self.keyboard.write_all(b"\x03").expect("typing");
        self.keyboard.flush().expect("typing");
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.script.kill();
        let _ = self.script.wait();
    }
}

/// Processes whose environment or command line names this run (its state directory or
/// epmd port), with their command lines.
fn processes_of_run(state: &Path, epmd_port: u16) -> Vec<(u32, String)> {
    let state_var = format!("KOSCHEI_STATE={}", state.display());
    let epmd_var = format!("ERL_EPMD_PORT={epmd_port}");
    let state_text = state.display().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let read = |name: &str| std::fs::read(entry.path().join(name)).unwrap_or_default();
        let environ = read("environ");
        let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
        let in_env = environ
            .split(|b| *b == 0)
            .any(|v| v == state_var.as_bytes() || v == epmd_var.as_bytes());
        if in_env || cmdline.contains(&state_text) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Kills whatever a failed run left (by pid), so that the suite goes on cleanly.
struct Leftovers<'a> {
    state: &'a Path,
    epmd_port: u16,
}

impl Drop for Leftovers<'_> {
    fn drop(&mut self) {
        for (pid, _) in processes_of_run(self.state, self.epmd_port) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn ctrl_c_twice_stops_every_process_of_the_demo() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path();
    // The test clients' venv (scripts/test made it), not a new one.
    let python = PathBuf::from(env_var("KOSCHEI_PYTHON"));
    let venv = python
        .parent()
        .and_then(Path::parent)
        .expect("venv of KOSCHEI_PYTHON");
    std::os::unix::fs::symlink(venv, state.join("venv")).expect("venv link");
    let bin_dir = binary("koji-sim").parent().expect("bin dir").to_owned();

    let amqp_port = free_port_pair(&[]);
    let [pg_port, epmd_port, web_port, sim_port] = {
        let mut taken = vec![amqp_port, amqp_port + 20000];
        [0; 4].map(|_| {
            let p = free_port_pair(&taken);
            taken.push(p);
            p
        })
    };
    let _leftovers = Leftovers { state, epmd_port };
    let root = repo_root();
    // The variables are set for the demo only: the terminal's shell stays after it
    // ended, and neither it nor `script` names the state directory or epmd's port.
    // That shell survives a Ctrl-C as an interactive one does (a trap, not an ignored
    // signal, so that the demo gets SIGINT's default disposition).
    let command = "trap : INT; KOSCHEI_STATE=$DEMO_STATE PG_PORT=$DEMO_PG_PORT AMQP_PORT=$DEMO_AMQP_PORT \
         EPMD_PORT=$DEMO_EPMD_PORT \"$DEMO_ROOT/scripts/run\" --seed \"$DEMO_ROOT/tests/koji-sim/seeds/tiny\" \
         --bin-dir \"$DEMO_BIN\" --port $DEMO_WEB_PORT --sim-port $DEMO_SIM_PORT; \
         echo \"demo exited with status $?\"; exec sleep 600";
    let env = [
        ("DEMO_STATE", state.display().to_string()),
        ("DEMO_ROOT", root.display().to_string()),
        ("DEMO_BIN", bin_dir.display().to_string()),
        ("DEMO_PG_PORT", pg_port.to_string()),
        ("DEMO_AMQP_PORT", amqp_port.to_string()),
        ("DEMO_EPMD_PORT", epmd_port.to_string()),
        ("DEMO_WEB_PORT", web_port.to_string()),
        ("DEMO_SIM_PORT", sim_port.to_string()),
    ];
    let mut terminal = Terminal::open(command, &env);
    assert!(
        terminal.wait_for("Koschei is running"),
        "the demo did not start"
    );
    assert!(
        !processes_of_run(state, epmd_port).is_empty(),
        "the demo's processes are found while it runs"
    );

    terminal.ctrl_c();
    let stopping = terminal.wait_for("stopping RabbitMQ");
    terminal.ctrl_c();
    let exited = stopping && terminal.wait_for("demo exited with status");

    let left = processes_of_run(state, epmd_port);
    assert!(
        left.is_empty(),
        "processes of the demo left running after Ctrl-C:\n{}",
        left.iter()
            .map(|(pid, cmd)| format!("{pid} {cmd}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for port in [amqp_port, epmd_port, web_port, sim_port] {
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still answers"
        );
    }
    assert!(
        !state.join("pg/data/postmaster.pid").exists(),
        "PostgreSQL did not shut down"
    );
    // Stopped by the Ctrl-C, not by a service that ended first.
    assert!(
        exited
            && terminal.seen.iter().any(|l| l.contains("stopped"))
            && terminal
                .seen
                .iter()
                .any(|l| l.contains("demo exited with status 130")),
        "the demo did not stop as interrupted:\n{}",
        terminal.seen.join("\n")
    );
}
