//! A private Mosquitto broker for tests.
//!
//! [`Broker::start`] writes a fresh configuration and throwaway certificates into a temporary
//! directory, starts `mosquitto -c CONF` on free loopback ports, waits until every listener
//! accepts a TCP connection, and kills the process when the [`Broker`] is dropped. Each broker
//! has five listeners on `127.0.0.1` (`per_listener_settings true`):
//!
//! | listener | port getter | authentication |
//! |---|---|---|
//! | plain, anonymous | [`Broker::port`] | none |
//! | plain, password file | [`Broker::auth_port`] | [`Broker::USERNAME`] / [`Broker::PASSWORD`] (more with [`BrokerBuilder::user`]) |
//! | TLS | [`Broker::tls_port`] | server certificate for `localhost` and `127.0.0.1`, signed by [`TestPki::ca_pem`] |
//! | mutual TLS | [`Broker::mtls_port`] | as TLS, and a client certificate signed by the same CA is required; its common name ([`TestPki::CLIENT_CN`]) becomes the user name |
//! | TLS, expired certificate | [`Broker::expired_tls_port`] | a server certificate that expired in 2001, signed by the same CA |
//!
//! The certificates ([`TestPki`]) are made at run time with `rcgen`: a CA, a server certificate
//! (SAN `DNS:localhost`, `IP:127.0.0.1`, EKU serverAuth), a client certificate (EKU clientAuth),
//! an expired server certificate, and a second, unrelated CA ([`TestPki::other_ca_pem`]) for
//! wrong-CA tests. Their PEM texts and file paths are both available.
//!
//! The broker logs every packet (`log_type all`) to [`Broker::log_path`]; [`Broker::log`]
//! reads it, and the log is printed to stderr automatically when a broker is dropped while the
//! thread is panicking (a failing test).
//!
//! Mosquitto must be installed (`apt-get install -y mosquitto`); [`Broker::start`] returns
//! [`HarnessError::MosquittoNotFound`] with that advice otherwise. When started as root,
//! Mosquitto drops to the user `mosquitto`, so every generated file is world-readable (mode
//! 0644 in a 0755 directory): these are throwaway test keys.
//!
//! ```no_run
//! use mqtt_test_broker::Broker;
//!
//! let broker = Broker::builder().max_inflight_messages(100).start().expect("mosquitto starts");
//! let addr = ("127.0.0.1", broker.port());
//! # let _ = addr;
//! // ... connect a client to `addr`, or to broker.tls_port() with broker.pki().ca_pem() ...
//! // On a failed assertion the broker log is printed when `broker` drops.
//! ```

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// Why a test broker could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum HarnessError {
    /// Neither `mosquitto` on `PATH` nor `/usr/sbin/mosquitto` exists.
    MosquittoNotFound,
    /// `mosquitto_passwd` is missing or failed.
    Passwd(String),
    /// Writing the configuration, keys or certificates failed.
    Io(io::Error),
    /// Certificate generation failed.
    Certificate(rcgen::Error),
    /// Mosquitto exited or did not open its listeners in time; `log` is its output.
    NotReady {
        /// What went wrong.
        reason: String,
        /// Mosquitto's log.
        log: String,
    },
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MosquittoNotFound => f.write_str(
                "mosquitto not found (neither on PATH nor at /usr/sbin/mosquitto): \
                 run `apt-get install -y mosquitto`",
            ),
            Self::Passwd(e) => write!(f, "mosquitto_passwd failed: {e}"),
            Self::Io(e) => write!(f, "test broker set-up: {e}"),
            Self::Certificate(e) => write!(f, "test certificate generation: {e}"),
            Self::NotReady { reason, log } => {
                write!(
                    f,
                    "mosquitto did not start: {reason}\n--- mosquitto log ---\n{log}"
                )
            }
        }
    }
}

impl std::error::Error for HarnessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Certificate(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for HarnessError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<rcgen::Error> for HarnessError {
    fn from(e: rcgen::Error) -> Self {
        Self::Certificate(e)
    }
}

/// Throwaway certificates made with `rcgen` at run time, as PEM text and as files.
#[derive(Debug, Clone)]
pub struct TestPki {
    dir: PathBuf,
    ca_pem: String,
    other_ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
    client_cert_pem: String,
    client_key_pem: String,
    expired_cert_pem: String,
    expired_key_pem: String,
}

impl TestPki {
    /// The common name of the client certificate; on the mutual-TLS listener it is the user name.
    pub const CLIENT_CN: &'static str = "mqtt-test-client";

    /// Generates a CA, a server certificate, a client certificate, an expired server
    /// certificate and an unrelated second CA, and writes them as `ca.pem`, `other-ca.pem`,
    /// `server.pem`/`server.key`, `client.pem`/`client.key`, `expired.pem`/`expired.key`
    /// (mode 0644) into `dir`, which must exist.
    pub fn generate(dir: &Path) -> Result<Self, HarnessError> {
        let (ca_key, ca_cert) = make_ca("mqtt test CA")?;
        let (_, other_ca_cert) = make_ca("unrelated mqtt test CA")?;

        let leaf = |cn: &str,
                    eku: ExtendedKeyUsagePurpose,
                    expired: bool|
         -> Result<(String, String), HarnessError> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(vec!["localhost".to_owned()])?;
            params
                .subject_alt_names
                .push(SanType::IpAddress(Ipv4Addr::LOCALHOST.into()));
            params.distinguished_name = DistinguishedName::new();
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![eku];
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            if expired {
                params.not_before = rcgen::date_time_ymd(2000, 1, 1);
                params.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }
            let cert = params.signed_by(&key, &ca_cert, &ca_key)?;
            Ok((cert.pem(), key.serialize_pem()))
        };
        let (server_cert_pem, server_key_pem) =
            leaf("localhost", ExtendedKeyUsagePurpose::ServerAuth, false)?;
        let (client_cert_pem, client_key_pem) =
            leaf(Self::CLIENT_CN, ExtendedKeyUsagePurpose::ClientAuth, false)?;
        let (expired_cert_pem, expired_key_pem) =
            leaf("localhost", ExtendedKeyUsagePurpose::ServerAuth, true)?;

        let pki = Self {
            dir: dir.to_owned(),
            ca_pem: ca_cert.pem(),
            other_ca_pem: other_ca_cert.pem(),
            server_cert_pem,
            server_key_pem,
            client_cert_pem,
            client_key_pem,
            expired_cert_pem,
            expired_key_pem,
        };
        for (name, text) in [
            ("ca.pem", &pki.ca_pem),
            ("other-ca.pem", &pki.other_ca_pem),
            ("server.pem", &pki.server_cert_pem),
            ("server.key", &pki.server_key_pem),
            ("client.pem", &pki.client_cert_pem),
            ("client.key", &pki.client_key_pem),
            ("expired.pem", &pki.expired_cert_pem),
            ("expired.key", &pki.expired_key_pem),
        ] {
            write_readable(&dir.join(name), text.as_bytes())?;
        }
        Ok(pki)
    }

    /// The CA that signed the server and client certificates (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
    /// Path of [`TestPki::ca_pem`].
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    /// An unrelated CA that signed nothing the broker uses (PEM).
    pub fn other_ca_pem(&self) -> &str {
        &self.other_ca_pem
    }
    /// Path of [`TestPki::other_ca_pem`].
    pub fn other_ca_path(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }
    /// The server certificate (PEM; SAN `DNS:localhost`, `IP:127.0.0.1`).
    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert_pem
    }
    /// The server's private key (PEM, PKCS#8).
    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }
    /// The client certificate for mutual TLS (PEM; common name [`TestPki::CLIENT_CN`]).
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert_pem
    }
    /// Path of [`TestPki::client_cert_pem`].
    pub fn client_cert_path(&self) -> PathBuf {
        self.dir.join("client.pem")
    }
    /// The client's private key (PEM, PKCS#8).
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }
    /// Path of [`TestPki::client_key_pem`].
    pub fn client_key_path(&self) -> PathBuf {
        self.dir.join("client.key")
    }
    /// An expired server certificate signed by the CA (PEM).
    pub fn expired_cert_pem(&self) -> &str {
        &self.expired_cert_pem
    }
}

fn make_ca(cn: &str) -> Result<(KeyPair, rcgen::Certificate), HarnessError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key)?;
    Ok((key, cert))
}

fn write_readable(path: &Path, contents: &[u8]) -> io::Result<()> {
    fs::write(path, contents)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))
}

/// Finds the Mosquitto binary: `mosquitto` on `PATH`, else `/usr/sbin/mosquitto`.
pub fn mosquitto_path() -> Option<PathBuf> {
    find_tool("mosquitto")
}

fn find_tool(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| p.is_file())
    })
}

/// Options for a test broker; [`Broker::builder`] makes one.
#[derive(Debug, Clone)]
pub struct BrokerBuilder {
    users: Vec<(String, String)>,
    max_inflight_messages: Option<u32>,
    max_queued_messages: Option<u32>,
    extra: Vec<String>,
    plain_extra: Vec<String>,
    websockets: bool,
}

impl BrokerBuilder {
    /// Adds a user to the password listener (besides [`Broker::USERNAME`]).
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }
    /// Sets `max_inflight_messages` (Mosquitto's default is 20).
    pub fn max_inflight_messages(mut self, n: u32) -> Self {
        self.max_inflight_messages = Some(n);
        self
    }
    /// Sets `max_queued_messages` (the harness default is 100,000; Mosquitto's is 1,000).
    pub fn max_queued_messages(mut self, n: u32) -> Self {
        self.max_queued_messages = Some(n);
        self
    }
    /// Appends a raw line to the general (top) part of the configuration.
    pub fn config_line(mut self, line: &str) -> Self {
        self.extra.push(line.to_owned());
        self
    }
    /// Adds a sixth listener: MQTT over WebSocket (Mosquitto's own, which speaks 3.1.1 and
    /// 5.0), anonymous, asked for on 127.0.0.1; its port is [`Broker::ws_port`].
    pub fn websockets(mut self) -> Self {
        self.websockets = true;
        self
    }
    /// Appends a raw line to the plain, anonymous listener's part of the configuration (with
    /// `per_listener_settings true`, where `acl_file` and the like go).
    pub fn plain_listener_line(mut self, line: &str) -> Self {
        self.plain_extra.push(line.to_owned());
        self
    }
    /// Writes the configuration and certificates and starts Mosquitto; see [`Broker::start`].
    pub fn start(self) -> Result<Broker, HarnessError> {
        let mosquitto = mosquitto_path().ok_or(HarnessError::MosquittoNotFound)?;
        let dir = make_temp_dir()?;
        let result = self.start_in(&mosquitto, &dir);
        if result.is_err() {
            let _ = fs::remove_dir_all(&dir);
        }
        result
    }

    fn start_in(&self, mosquitto: &Path, dir: &Path) -> Result<Broker, HarnessError> {
        let pki = TestPki::generate(dir)?;
        let passwd = dir.join("passwd");
        let mut users = vec![(Broker::USERNAME.to_owned(), Broker::PASSWORD.to_owned())];
        users.extend(self.users.iter().cloned());
        make_password_file(&passwd, &users)?;

        // Free ports can be taken by someone else between probing and binding: retry.
        let mut last_err = None;
        for _ in 0..3 {
            let ports = free_ports(self.websockets)?;
            let conf = dir.join("mosquitto.conf");
            write_readable(&conf, self.config(dir, &ports).as_bytes())?;
            // Created here, writable by the `mosquitto` user that a root-started broker becomes.
            let log_path = dir.join("mosquitto.log");
            write_readable(&log_path, b"")?;
            fs::set_permissions(&log_path, fs::Permissions::from_mode(0o666))?;
            let log = fs::File::create(dir.join("mosquitto.out"))?;
            let child = Command::new(mosquitto)
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .spawn()?;
            let mut broker = Broker {
                child,
                dir: dir.to_owned(),
                ports,
                pki: pki.clone(),
                keep_dir: false,
            };
            match broker.wait_ready(Duration::from_secs(10)) {
                Ok(()) => return Ok(broker),
                Err(e) => {
                    // Keep the directory: the caller removes it after the last try.
                    broker.keep_dir = true;
                    drop(broker);
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or(HarnessError::NotReady {
            reason: "no attempt made".into(),
            log: String::new(),
        }))
    }

    fn config(&self, dir: &Path, p: &Ports) -> String {
        let d = dir.display();
        let mut c = String::new();
        c.push_str("per_listener_settings true\npersistence false\n");
        // `log_dest file` is flushed line by line (stdout into a file is block-buffered), so a
        // running test can read the log; stdout and stderr go to `mosquitto.out`.
        c.push_str(&format!(
            "log_dest file {d}/mosquitto.log\nlog_type all\nconnection_messages true\n"
        ));
        c.push_str(&format!(
            "max_queued_messages {}\n",
            self.max_queued_messages.unwrap_or(100_000)
        ));
        if let Some(n) = self.max_inflight_messages {
            c.push_str(&format!("max_inflight_messages {n}\n"));
        }
        for line in &self.extra {
            c.push_str(line);
            c.push('\n');
        }
        c.push_str(&format!(
            "\nlistener {} 127.0.0.1\nallow_anonymous true\n",
            p.plain
        ));
        for line in &self.plain_extra {
            c.push_str(line);
            c.push('\n');
        }
        c.push_str(&format!(
            "\nlistener {} 127.0.0.1\nallow_anonymous false\npassword_file {d}/passwd\n",
            p.auth
        ));
        c.push_str(&format!(
            "\nlistener {} 127.0.0.1\nallow_anonymous true\n\
             cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n",
            p.tls
        ));
        c.push_str(&format!(
            "\nlistener {} 127.0.0.1\nallow_anonymous true\n\
             cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n\
             require_certificate true\nuse_identity_as_username true\n",
            p.mtls
        ));
        c.push_str(&format!(
            "\nlistener {} 127.0.0.1\nallow_anonymous true\n\
             cafile {d}/ca.pem\ncertfile {d}/expired.pem\nkeyfile {d}/expired.key\n",
            p.expired
        ));
        if let Some(ws) = p.ws {
            // Mosquitto 2.0.11 (libwebsockets) binds this listener to every interface whatever
            // address is given; the tests reach it over loopback only.
            c.push_str(&format!(
                "\nlistener {ws} 127.0.0.1\nprotocol websockets\nallow_anonymous true\n"
            ));
        }
        c
    }
}

fn make_password_file(path: &Path, users: &[(String, String)]) -> Result<(), HarnessError> {
    let tool = find_tool("mosquitto_passwd").ok_or_else(|| {
        HarnessError::Passwd(
            "mosquitto_passwd not found: run `apt-get install -y mosquitto`".to_owned(),
        )
    })?;
    for (i, (user, pass)) in users.iter().enumerate() {
        let mut cmd = Command::new(&tool);
        if i == 0 {
            cmd.arg("-c");
        }
        let out = cmd
            .arg("-b")
            .arg(path)
            .arg(user)
            .arg(pass)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| HarnessError::Passwd(e.to_string()))?;
        if !out.status.success() {
            return Err(HarnessError::Passwd(format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    fs::set_permissions(path, fs::Permissions::from_mode(0o644))?;
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Ports {
    plain: u16,
    auth: u16,
    tls: u16,
    mtls: u16,
    expired: u16,
    ws: Option<u16>,
}

impl Ports {
    fn all(&self) -> Vec<u16> {
        let mut all = vec![self.plain, self.auth, self.tls, self.mtls, self.expired];
        all.extend(self.ws);
        all
    }
}

fn free_ports(websockets: bool) -> io::Result<Ports> {
    // Hold them all at once so that they differ, then release them for Mosquitto.
    let listeners = (0..6)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    let mut ports = [0u16; 6];
    for (slot, l) in ports.iter_mut().zip(&listeners) {
        *slot = l.local_addr()?.port();
    }
    let [plain, auth, tls, mtls, expired, ws] = ports;
    Ok(Ports {
        plain,
        auth,
        tls,
        mtls,
        expired,
        ws: websockets.then_some(ws),
    })
}

fn make_temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("mqtt-test-broker-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A running private Mosquitto; killed and its directory removed on drop.
///
/// See the [module docs](self) for the listeners and certificates.
#[derive(Debug)]
pub struct Broker {
    child: Child,
    dir: PathBuf,
    ports: Ports,
    pki: TestPki,
    keep_dir: bool,
}

impl Broker {
    /// The user name accepted by the password listener.
    pub const USERNAME: &'static str = "tester";
    /// The password of [`Broker::USERNAME`].
    pub const PASSWORD: &'static str = "secret-pass";

    /// Starts a broker with the default options (see [`BrokerBuilder`]).
    ///
    /// Returns when every listener accepts TCP connections (checked by connecting, with a
    /// 10-second limit), or an error that carries Mosquitto's log.
    pub fn start() -> Result<Self, HarnessError> {
        Self::builder().start()
    }

    /// Options for a broker.
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder {
            users: Vec::new(),
            max_inflight_messages: None,
            max_queued_messages: None,
            extra: Vec::new(),
            plain_extra: Vec::new(),
            websockets: false,
        }
    }

    /// The MQTT-over-WebSocket listener's port ([`BrokerBuilder::websockets`]).
    pub fn ws_port(&self) -> Option<u16> {
        self.ports.ws
    }

    /// The plain, anonymous listener's port.
    pub fn port(&self) -> u16 {
        self.ports.plain
    }
    /// The plain listener that requires a user name and password.
    pub fn auth_port(&self) -> u16 {
        self.ports.auth
    }
    /// The TLS listener (server certificate for `localhost` / `127.0.0.1`).
    pub fn tls_port(&self) -> u16 {
        self.ports.tls
    }
    /// The mutual-TLS listener (client certificate required).
    pub fn mtls_port(&self) -> u16 {
        self.ports.mtls
    }
    /// A TLS listener whose server certificate has expired.
    pub fn expired_tls_port(&self) -> u16 {
        self.ports.expired
    }
    /// `127.0.0.1:port` of the plain, anonymous listener.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.ports.plain))
    }
    /// The certificates the broker uses.
    pub fn pki(&self) -> &TestPki {
        &self.pki
    }
    /// The broker's temporary directory (configuration, keys, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The log file (`log_type all`: every packet Mosquitto received and sent).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("mosquitto.log")
    }
    /// Mosquitto's log so far, followed by anything it wrote to stdout or stderr (lossy
    /// UTF-8; empty if nothing can be read).
    pub fn log(&self) -> String {
        let read = |name: &str| {
            fs::read(self.dir.join(name))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let mut log = read("mosquitto.log");
        let out = read("mosquitto.out");
        if !out.trim().is_empty() {
            log.push_str("--- mosquitto stdout/stderr ---\n");
            log.push_str(&out);
        }
        log
    }
    /// Waits until the log contains `needle` (checking every few milliseconds), up to
    /// `timeout`. Returns whether it appeared. Mosquitto logs an event after acting on it, so
    /// a test that checks the log after an exchange waits for the line rather than reading
    /// once.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops Mosquitto (SIGKILL, as a crash would) and starts it again with the same
    /// configuration on the same ports. Persistence is off, so every session and retained
    /// message is gone: clients that reconnect find session present 0.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mosquitto = mosquitto_path().ok_or(HarnessError::MosquittoNotFound)?;
        let log = fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("mosquitto.out"))?;
        self.child = Command::new(mosquitto)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        self.wait_ready(Duration::from_secs(10))
    }

    /// The process id of Mosquitto.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + limit;
        let mut pending: Vec<u16> = self.ports.all().to_vec();
        let mut pause = Duration::from_millis(2);
        while !pending.is_empty() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::NotReady {
                    reason: format!("mosquitto exited with {status}"),
                    log: self.log(),
                });
            }
            pending.retain(|&port| {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
            });
            if pending.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::NotReady {
                    reason: format!("ports {pending:?} not accepting after {limit:?}"),
                    log: self.log(),
                });
            }
            // Back off between probes (2, 4, 8 .. 50 ms): the broker is up in a few ms.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let mut err = io::stderr().lock();
            let _ = writeln!(
                err,
                "--- mosquitto log ({}) ---\n{}--- end of mosquitto log ---",
                self.log_path().display(),
                self.log()
            );
        }
        if !self.keep_dir && std::env::var_os("MQTT_TEST_KEEP_BROKER_DIR").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
