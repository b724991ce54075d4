//! A real broker that speaks MQTT over WebSocket, for tests (feature `test-broker`).
//!
//! Mosquitto 2.0's `protocol websockets` listener depends on how it was built, so the
//! WebSocket tests run [Aedes](https://github.com/moscajs/aedes) (an MQTT 3.1.1 broker for
//! Node.js) behind a [`ws`](https://github.com/websockets/ws) server, with the small script
//! `mqtt-std/test-support/aedes-ws-broker.js`. [`WsBroker::start`] runs `node` on it with
//! loopback listeners on ports the system picks: plain MQTT over TCP, `ws://`, and with
//! [`WsBrokerBuilder::tls`] `wss://` with a certificate from a fresh [`TestPki`].
//!
//! The npm packages (`aedes@1.2.0`, `ws@8`) are installed on first use with
//! `npm install --prefix DIR` into `target/test-node` of the workspace (or the directory named
//! by `MQTT_TEST_NODE_DIR`), which CI can do ahead of time with
//! `mqtt-std/test-support/install-node-deps`, that is:
//!
//! ```text
//! npm install --no-audit --no-fund --prefix target/test-node aedes@1.2.0 ws@8
//! ```
//!
//! Without `node` and `npm`, [`WsBroker::start`] fails with [`WsBrokerError::NodeNotFound`]:
//! tests that need it fail with that message rather than pass silently.

use std::fmt;
use std::fs;
use std::io::{self, BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::mosquitto::{HarnessError, TestPki};

/// The broker script, written next to the installed packages at start.
const SCRIPT: &str = include_str!("../../test-support/aedes-ws-broker.js");

/// The npm packages the script needs, pinned.
pub const NPM_PACKAGES: [&str; 2] = ["aedes@1.2.0", "ws@8"];

/// Why a WebSocket test broker could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum WsBrokerError {
    /// `node` or `npm` is not on `PATH`.
    NodeNotFound(&'static str),
    /// `npm install` failed; its output.
    NpmInstall(String),
    /// Files or processes could not be set up.
    Io(io::Error),
    /// The throwaway certificates could not be made.
    Pki(HarnessError),
    /// The broker exited or did not report its ports; its output.
    NotReady(String),
}

impl fmt::Display for WsBrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NodeNotFound(tool) => write!(
                f,
                "`{tool}` not found on PATH: the MQTT-over-WebSocket tests need Node.js and npm \
                 (for the Aedes broker); install them, e.g. `apt-get install -y nodejs npm`"
            ),
            Self::NpmInstall(out) => write!(
                f,
                "npm install {} failed (run it by hand: npm install --prefix target/test-node {}):\n{out}",
                NPM_PACKAGES.join(" "),
                NPM_PACKAGES.join(" ")
            ),
            Self::Io(e) => write!(f, "websocket test broker set-up: {e}"),
            Self::Pki(e) => write!(f, "websocket test broker certificates: {e}"),
            Self::NotReady(out) => write!(f, "aedes did not start:\n{out}"),
        }
    }
}

impl std::error::Error for WsBrokerError {}

impl From<io::Error> for WsBrokerError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

fn find_on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The directory holding `node_modules` with the broker's packages: `MQTT_TEST_NODE_DIR`, or
/// `target/test-node` of the workspace.
pub fn node_dir() -> PathBuf {
    match std::env::var_os("MQTT_TEST_NODE_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-node"),
    }
}

fn installed(dir: &Path) -> bool {
    ["aedes", "ws"].iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .is_file()
    })
}

/// Installs the npm packages into [`node_dir`] unless they are there; returns the directory.
/// Safe to call from several tests and processes at once (each installs into a directory of
/// its own and renames it into place).
pub fn ensure_installed() -> Result<PathBuf, WsBrokerError> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = node_dir();
    if installed(&dir) {
        return Ok(dir);
    }
    let npm = find_on_path("npm").ok_or(WsBrokerError::NodeNotFound("npm"))?;
    let tmp = dir.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp)?;
    let out = Command::new(npm)
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&tmp)
        .args(NPM_PACKAGES)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() || !installed(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(WsBrokerError::NpmInstall(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    if fs::rename(&tmp, &dir).is_err() {
        // Another process got there first.
        let _ = fs::remove_dir_all(&tmp);
    }
    if installed(&dir) {
        Ok(dir)
    } else {
        Err(WsBrokerError::NpmInstall(format!(
            "packages missing from {} after install",
            dir.display()
        )))
    }
}

/// Options of a [`WsBroker`].
#[derive(Debug, Clone, Default)]
pub struct WsBrokerBuilder {
    path: Option<String>,
    token: Option<String>,
    login: Option<(String, String)>,
    tls: bool,
}

impl WsBrokerBuilder {
    /// The only URI path the WebSocket listeners accept (default `/mqtt`); others get HTTP 400.
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// Requires `Authorization: Bearer TOKEN` in the handshake (else HTTP 401).
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// A CONNECT with a user name must carry this one and its password (return code 4
    /// otherwise); a CONNECT without a user name is accepted.
    pub fn user(mut self, username: &str, password: &str) -> Self {
        self.login = Some((username.to_owned(), password.to_owned()));
        self
    }

    /// Adds a `wss://` listener with a server certificate for `localhost` and `127.0.0.1`
    /// signed by [`WsBroker::pki`]'s CA.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Installs the packages if needed and starts the broker.
    pub fn start(self) -> Result<WsBroker, WsBrokerError> {
        let node = find_on_path("node").ok_or(WsBrokerError::NodeNotFound("node"))?;
        let modules = ensure_installed()?;
        let dir = make_temp_dir()?;
        match self.start_in(&node, &modules, &dir) {
            Ok(b) => Ok(b),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn start_in(&self, node: &Path, modules: &Path, dir: &Path) -> Result<WsBroker, WsBrokerError> {
        let script = dir.join("aedes-ws-broker.js");
        fs::write(&script, SCRIPT)?;
        let pki = TestPki::generate(dir).map_err(WsBrokerError::Pki)?;
        let mut args = serde_json::json!({ "path": self.path.as_deref().unwrap_or("/mqtt") });
        if self.tls {
            args["cert"] = dir.join("server.pem").display().to_string().into();
            args["key"] = dir.join("server.key").display().to_string().into();
        }
        if let Some(t) = &self.token {
            args["token"] = t.clone().into();
        }
        if let Some((u, p)) = &self.login {
            args["username"] = u.clone().into();
            args["password"] = p.clone().into();
        }
        let log_path = dir.join("aedes.log");
        let log = fs::File::create(&log_path)?;
        let mut child = Command::new(node)
            .arg(&script)
            .arg(args.to_string())
            .env("NODE_PATH", modules.join("node_modules"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()?;
        let stdin = child.stdin.take();
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(WsBrokerError::NotReady("no stdout".into()));
        };
        // The ports line, read on a thread so that a hung node cannot hang the test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(r);
        });
        let line = rx.recv_timeout(Duration::from_secs(30));
        let fail = |mut child: Child, what: String| {
            let _ = child.kill();
            let _ = child.wait();
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            WsBrokerError::NotReady(format!("{what}\n--- aedes output ---\n{log}"))
        };
        let line = match line {
            Ok(Ok(l)) if !l.trim().is_empty() => l,
            Ok(Ok(_)) => return Err(fail(child, "exited before listening".into())),
            Ok(Err(e)) => return Err(fail(child, e.to_string())),
            Err(_) => return Err(fail(child, "no ports reported in 30 s".into())),
        };
        let ports: serde_json::Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => return Err(fail(child, format!("bad ports line {line:?}: {e}"))),
        };
        let port = |k: &str| {
            ports
                .get(k)
                .and_then(serde_json::Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
        };
        let (Some(tcp), Some(ws)) = (port("tcp"), port("ws")) else {
            return Err(fail(child, format!("bad ports line {line:?}")));
        };
        Ok(WsBroker {
            child,
            stdin,
            dir: dir.to_owned(),
            tcp_port: tcp,
            ws_port: ws,
            wss_port: port("wss"),
            path: self.path.clone().unwrap_or_else(|| "/mqtt".into()),
            pki,
        })
    }
}

fn make_temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("mqtt-test-aedes-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A running Aedes broker with WebSocket listeners; stopped and its directory removed on drop
/// (its output is printed to stderr when dropped during a panic, i.e. a failing test).
#[derive(Debug)]
pub struct WsBroker {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: PathBuf,
    tcp_port: u16,
    ws_port: u16,
    wss_port: Option<u16>,
    path: String,
    pki: TestPki,
}

impl WsBroker {
    /// A broker with the defaults: path `/mqtt`, no token, no login check, no TLS.
    pub fn start() -> Result<Self, WsBrokerError> {
        Self::builder().start()
    }

    /// Options.
    pub fn builder() -> WsBrokerBuilder {
        WsBrokerBuilder::default()
    }

    /// The plain MQTT (TCP) port, for cross-transport checks.
    pub fn tcp_port(&self) -> u16 {
        self.tcp_port
    }

    /// The `ws://` port.
    pub fn ws_port(&self) -> u16 {
        self.ws_port
    }

    /// The `wss://` port (with [`WsBrokerBuilder::tls`]).
    pub fn wss_port(&self) -> Option<u16> {
        self.wss_port
    }

    /// The WebSocket path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The certificates (the `wss` server certificate is signed by its CA).
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }

    /// What the broker wrote to stderr.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("aedes.log")).unwrap_or_default()
    }
}

impl Drop for WsBroker {
    fn drop(&mut self) {
        // Closing stdin ends the script; kill in case it is stuck.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let _ = writeln!(
                io::stderr().lock(),
                "--- aedes output ---\n{}--- end of aedes output ---",
                self.log()
            );
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ci_install_script_installs_the_same_packages() {
        let script = include_str!("../../test-support/install-node-deps");
        for p in super::NPM_PACKAGES {
            assert!(script.contains(p), "install-node-deps lacks {p}");
        }
    }
}
