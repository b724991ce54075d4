//! What the scale programs share: options, the process figures (resident memory from
//! `/proc/self/status`, CPU from `getrusage`), the open-file limit, and the run itself: N
//! sessions in one process, each one task, through three phases that every session passes
//! together.
//!
//! 1. **Connect**: at most `--concurrency` sessions create their client and connect at once
//!    (a fair semaphore hands out the turns in order); the phase ends at the last CONNACK.
//!    Then the process is idle for [`SETTLE`] and its resident memory is read.
//! 2. **Deliver**: every session at once subscribes to its own topic at QoS 1, publishes one
//!    QoS 1 message there and waits for its PUBACK and for the message to come back; the phase
//!    ends when the last session has its message.
//! 3. **Disconnect**: every session sends DISCONNECT and closes.
//!
//! The program a client library brings is the body of one session ([`Session`] tells the run
//! where the session is); [`run`] spawns the sessions, moves them from phase to phase, and
//! returns the [`Report`].
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};

use crate::e2e::{percentile, value};

/// How long the process is left idle after the last CONNACK before its memory is read.
pub const SETTLE: Duration = Duration::from_millis(500);

/// Errors kept word for word in the report (the rest are only counted).
const KEPT_ERRORS: usize = 5;

/// Options of a scale run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Sessions.
    pub sessions: u32,
    /// Connects in flight at once (TCP connect to CONNACK).
    pub concurrency: u32,
    /// Keep alive of every session, in seconds.
    pub keep_alive: u16,
    /// Topic prefix; session `i` subscribes and publishes to `PREFIX/i`.
    pub topic: String,
    /// Give up on a phase after this long.
    pub timeout: Duration,
}

/// The usage text shared by the programs.
pub const USAGE: &str = "options:
  -h HOST            broker host (default 127.0.0.1)
  -p PORT            broker port (default 1883)
  -n N               sessions, all in this process (default 10000)
  --concurrency C    connects in flight at once, TCP connect to CONNACK (default 100,
                     Mosquitto's listen backlog)
  --keep-alive S     keep alive of every session in seconds (default 60)
  -t PREFIX          topic prefix; session i uses PREFIX/i (default bench/scale)
  --timeout S        give up on a phase (connect, deliver, disconnect) after S seconds
                     (default 120)
Each session connects with clean session, subscribes to its own topic at QoS 1, publishes one
QoS 1 message there and receives it back. Prints one JSON line with the figures on stdout;
exits 1 when a session failed, 2 on bad usage.";

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 1883,
            sessions: 10_000,
            concurrency: 100,
            keep_alive: 60,
            topic: "bench/scale".into(),
            timeout: Duration::from_secs(120),
        }
    }
}

impl Options {
    /// Parse the command-line arguments (without the program name). `Err("")` asks for the
    /// usage (`--help`).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut o = Options::default();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "-h" => o.host = value(&a, args.next())?,
                "-p" => o.port = value(&a, args.next())?,
                "-n" => o.sessions = value(&a, args.next())?,
                "--concurrency" => o.concurrency = value(&a, args.next())?,
                "--keep-alive" => o.keep_alive = value(&a, args.next())?,
                "-t" => o.topic = value(&a, args.next())?,
                "--timeout" => {
                    let s: f64 = value(&a, args.next())?;
                    o.timeout = Duration::try_from_secs_f64(s)
                        .ok()
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| format!("--timeout: invalid value {s}"))?;
                }
                "--help" => return Err(String::new()),
                _ => return Err(format!("unknown option {a:?}")),
            }
        }
        if o.sessions == 0 || o.concurrency == 0 {
            return Err("-n and --concurrency must be positive".into());
        }
        if o.topic.is_empty() || o.topic.contains(['+', '#']) {
            return Err("-t must be a topic name without wildcards".into());
        }
        Ok(o)
    }

    /// The topic of session `i`.
    pub fn topic(&self, i: u32) -> String {
        format!("{}/{i}", self.topic)
    }

    /// The payload session `i` publishes (and expects back).
    pub fn payload(&self, i: u32) -> Vec<u8> {
        format!("scale session {i}").into_bytes()
    }
}

/// Parse `args` (the process arguments without the program name) or exit: status 0 with the
/// usage for `--help`, 2 on error. `extra_usage` is appended to the usage text (the lines of
/// options a program takes out of the arguments itself before; empty for none).
pub fn options_or_exit(
    program: &str,
    extra_usage: &str,
    args: Result<Vec<String>, String>,
) -> Options {
    let usage = format!("usage: {program} [options]\n{USAGE}{extra_usage}");
    match args.and_then(Options::parse) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{usage}");
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("{program}: {e}\n{usage}");
            std::process::exit(2);
        }
    }
}

/// The value in kB of a `Name:   123 kB` line of `/proc/<pid>/status`.
pub fn status_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// This process's resident memory and its peak, in KiB (`VmRSS`, `VmHWM`).
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (
        status_kib(&status, "VmRSS").unwrap_or(0),
        status_kib(&status, "VmHWM").unwrap_or(0),
    )
}

/// CPU used by this process so far (user + system, all threads), from `getrusage`.
pub fn cpu_s() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let t = |v: nix::sys::time::TimeVal| v.tv_sec() as f64 + v.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => f64::NAN,
    }
}

/// Raises the soft open-file limit to the hard one; returns the soft limit now in force.
/// Each session holds one socket.
pub fn raise_file_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Ok((soft, _)) => soft,
        Err(_) => 0,
    }
}

/// The phase the run is in, as the sessions see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Connect,
    Deliver,
    Disconnect,
}

/// Where one session got to; a session dropped before [`Session::delivered`] counts as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connecting,
    Connected,
    Delivered,
}

struct Shared {
    start: Instant,
    slots: Arc<Semaphore>,
    phase: watch::Sender<Phase>,
    /// Wakes the run when a count below changes.
    changed: Notify,
    connected: AtomicU32,
    delivered: AtomicU32,
    /// Sessions that ended before they were connected, and after.
    failed_connect: AtomicU32,
    failed_deliver: AtomicU32,
    /// Nanoseconds since `start`: the first connect start (`u64::MAX` before it), the last
    /// CONNACK, the last message back.
    first_connect_ns: AtomicU64,
    last_connack_ns: AtomicU64,
    last_delivered_ns: AtomicU64,
    /// Each session's connect time, turn to CONNACK (ns), and delivery time, start of the
    /// deliver phase to its message back (ns).
    connect_ns: Mutex<Vec<u64>>,
    deliver_ns: Mutex<Vec<u64>>,
    errors: Mutex<(u32, Vec<String>)>,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn error(&self, e: String) {
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        errors.0 += 1;
        if errors.1.len() < KEPT_ERRORS {
            errors.1.push(e);
        }
    }
}

/// One session's view of the run, handed to the session's body.
pub struct Session {
    /// The session's index, `0..N`.
    pub index: u32,
    shared: Arc<Shared>,
    stage: Stage,
    turn: Option<(OwnedSemaphorePermit, u64)>,
    deliver_start_ns: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("index", &self.index)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Waits for this session's turn to connect (at most `--concurrency` sessions hold one);
    /// call it before creating the client. The turn is given back by [`Session::connected`].
    pub async fn connect_turn(&mut self) {
        if let Ok(permit) = self.shared.slots.clone().acquire_owned().await {
            let now = self.shared.now_ns();
            self.shared
                .first_connect_ns
                .fetch_min(now, Ordering::Relaxed);
            self.turn = Some((permit, now));
        }
    }

    /// CONNACK accepted the session: gives back the connect turn.
    pub fn connected(&mut self) {
        let now = self.shared.now_ns();
        if let Some((permit, started)) = self.turn.take() {
            drop(permit);
            self.shared
                .connect_ns
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(now.saturating_sub(started));
        }
        self.shared
            .last_connack_ns
            .fetch_max(now, Ordering::Relaxed);
        self.stage = Stage::Connected;
        self.shared.connected.fetch_add(1, Ordering::Relaxed);
        self.shared.changed.notify_one();
    }

    /// Resolves when every session is connected and the memory has been read: time to
    /// subscribe and publish.
    pub async fn deliver_phase(&mut self) {
        self.wait(Phase::Deliver).await;
        self.deliver_start_ns = self.shared.now_ns();
    }

    /// The session's own message came back (and its PUBACK).
    pub fn delivered(&mut self) {
        let now = self.shared.now_ns();
        self.shared
            .deliver_ns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(now.saturating_sub(self.deliver_start_ns));
        self.shared
            .last_delivered_ns
            .fetch_max(now, Ordering::Relaxed);
        self.stage = Stage::Delivered;
        self.shared.delivered.fetch_add(1, Ordering::Relaxed);
        self.shared.changed.notify_one();
    }

    /// Resolves when every session has its message: time to disconnect.
    pub async fn disconnect_phase(&mut self) {
        self.wait(Phase::Disconnect).await;
    }

    async fn wait(&self, phase: Phase) {
        let mut rx = self.shared.phase.subscribe();
        let _ = rx.wait_for(|p| *p >= phase).await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let failed = match self.stage {
            Stage::Connecting => &self.shared.failed_connect,
            Stage::Connected => &self.shared.failed_deliver,
            Stage::Delivered => return,
        };
        failed.fetch_add(1, Ordering::Relaxed);
        self.shared.changed.notify_one();
    }
}

/// The figures of a run, printed as one JSON line.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Which client ran.
    pub client: &'static str,
    /// The options.
    pub options: Options,
    /// The soft open-file limit the run had.
    pub file_limit: u64,
    /// Sessions whose CONNACK came.
    pub connected: u32,
    /// Sessions whose own message came back.
    pub delivered: u32,
    /// Seconds from the first connect start to the last CONNACK.
    pub connect_s: f64,
    /// Seconds from the start of the deliver phase to the last message back.
    pub deliver_s: f64,
    /// Seconds the sessions took to disconnect and end.
    pub disconnect_s: f64,
    /// Connect time of one session (turn to CONNACK), median and 99th percentile, ms.
    pub connect_ms: (f64, f64),
    /// Time of one session to its message back (start of the deliver phase), median and
    /// 99th percentile, ms.
    pub deliver_ms: (f64, f64),
    /// Resident memory (KiB) before any client was created, when all were connected and
    /// idle, after every message came back, and the peak over the run.
    pub rss_before_kib: u64,
    /// See [`Report::rss_before_kib`].
    pub rss_connected_kib: u64,
    /// See [`Report::rss_before_kib`].
    pub rss_delivered_kib: u64,
    /// See [`Report::rss_before_kib`].
    pub rss_peak_kib: u64,
    /// CPU seconds (user + system) of each phase, and of the whole run (sessions created to
    /// the last one ended).
    pub cpu_connect_s: f64,
    /// See [`Report::cpu_connect_s`].
    pub cpu_deliver_s: f64,
    /// See [`Report::cpu_connect_s`].
    pub cpu_disconnect_s: f64,
    /// See [`Report::cpu_connect_s`].
    pub cpu_s: f64,
    /// Errors, and the first few of them.
    pub error_count: u32,
    /// See [`Report::error_count`].
    pub errors: Vec<String>,
    /// A phase that did not end within the timeout.
    pub timed_out: Option<&'static str>,
}

fn percentile_ms(mut v: Vec<u64>) -> (f64, f64) {
    v.sort_unstable();
    (percentile(&v, 0.5) / 1e6, percentile(&v, 0.99) / 1e6)
}

/// A number as JSON: `null` for NaN and infinities.
fn num(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "null".into()
    }
}

impl Report {
    /// Whether every session connected and got its message back, without an error.
    pub fn ok(&self) -> bool {
        self.connected == self.options.sessions
            && self.delivered == self.options.sessions
            && self.error_count == 0
            && self.timed_out.is_none()
    }

    /// Resident memory per session once connected and idle, KiB.
    pub fn rss_per_session_kib(&self) -> f64 {
        self.rss_connected_kib.saturating_sub(self.rss_before_kib) as f64
            / f64::from(self.options.sessions)
    }

    /// The JSON line.
    pub fn json(&self) -> String {
        let o = &self.options;
        let mut line = String::new();
        let _ = write!(
            line,
            "{{\"client\":\"{}\",\"sessions\":{},\"concurrency\":{},\"keep_alive\":{},\
             \"file_limit\":{},\"connected\":{},\"delivered\":{},\"connect_s\":{},\
             \"deliver_s\":{},\"disconnect_s\":{},\"connect_p50_ms\":{},\"connect_p99_ms\":{},\
             \"deliver_p50_ms\":{},\"deliver_p99_ms\":{},\"rss_before_kib\":{},\
             \"rss_connected_kib\":{},\"rss_delivered_kib\":{},\"rss_peak_kib\":{},\
             \"rss_per_session_kib\":{},\"cpu_connect_s\":{},\"cpu_deliver_s\":{},\
             \"cpu_disconnect_s\":{},\"cpu_s\":{},\"errors\":{},\"ok\":{}",
            self.client,
            o.sessions,
            o.concurrency,
            o.keep_alive,
            self.file_limit,
            self.connected,
            self.delivered,
            num(self.connect_s, 6),
            num(self.deliver_s, 6),
            num(self.disconnect_s, 6),
            num(self.connect_ms.0, 3),
            num(self.connect_ms.1, 3),
            num(self.deliver_ms.0, 3),
            num(self.deliver_ms.1, 3),
            self.rss_before_kib,
            self.rss_connected_kib,
            self.rss_delivered_kib,
            self.rss_peak_kib,
            num(self.rss_per_session_kib(), 2),
            num(self.cpu_connect_s, 3),
            num(self.cpu_deliver_s, 3),
            num(self.cpu_disconnect_s, 3),
            num(self.cpu_s, 3),
            self.error_count,
            self.ok()
        );
        if let Some(phase) = self.timed_out {
            let _ = write!(line, ",\"timed_out\":\"{phase}\"");
        }
        if !self.errors.is_empty() {
            let errors: Vec<String> = self.errors.iter().map(|e| format!("{e:?}")).collect();
            let _ = write!(line, ",\"first_errors\":[{}]", errors.join(","));
        }
        line.push('}');
        line
    }

    /// Print the JSON line on stdout and a summary on stderr; returns the exit status.
    pub fn finish(self) -> i32 {
        println!("{}", self.json());
        eprintln!(
            "{}: {} sessions (concurrency {}): {} connected in {:.2} s, {} delivered in {:.2} s; \
             RSS {:.1} KiB/session ({} -> {} KiB); CPU {:.2} s{}",
            self.client,
            self.options.sessions,
            self.options.concurrency,
            self.connected,
            self.connect_s,
            self.delivered,
            self.deliver_s,
            self.rss_per_session_kib(),
            self.rss_before_kib,
            self.rss_connected_kib,
            self.cpu_s,
            if self.ok() { "" } else { " — FAILED" }
        );
        for e in &self.errors {
            eprintln!("{}: {e}", self.client);
        }
        if self.ok() { 0 } else { 1 }
    }
}

/// Waits until `done()` holds, woken by the sessions; false after `timeout`.
async fn until(shared: &Shared, timeout: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let changed = shared.changed.notified();
        if done() {
            return true;
        }
        // A missed wake-up costs at most the poll interval.
        let wait = tokio::time::Instant::now() + Duration::from_millis(50);
        if tokio::time::timeout_at(wait.min(deadline), changed)
            .await
            .is_err()
            && tokio::time::Instant::now() >= deadline
        {
            return done();
        }
    }
}

/// Runs `o.sessions` sessions, each `session(Session)` on a task of its own, through the three
/// phases; `file_limit` is only reported. Call it on a tokio runtime.
pub async fn run<F, Fut>(client: &'static str, o: Options, file_limit: u64, session: F) -> Report
where
    F: Fn(Session) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let n = o.sessions;
    let (rss_before_kib, _) = memory_kib();
    let cpu0 = cpu_s();
    let shared = Arc::new(Shared {
        start: Instant::now(),
        slots: Arc::new(Semaphore::new(o.concurrency as usize)),
        phase: watch::Sender::new(Phase::Connect),
        changed: Notify::new(),
        connected: AtomicU32::new(0),
        delivered: AtomicU32::new(0),
        failed_connect: AtomicU32::new(0),
        failed_deliver: AtomicU32::new(0),
        first_connect_ns: AtomicU64::new(u64::MAX),
        last_connack_ns: AtomicU64::new(0),
        last_delivered_ns: AtomicU64::new(0),
        connect_ns: Mutex::new(Vec::with_capacity(n as usize)),
        deliver_ns: Mutex::new(Vec::with_capacity(n as usize)),
        errors: Mutex::new((0, Vec::new())),
    });
    let mut tasks = Vec::with_capacity(n as usize);
    for index in 0..n {
        let s = Session {
            index,
            shared: shared.clone(),
            stage: Stage::Connecting,
            turn: None,
            deliver_start_ns: 0,
        };
        let body = session(s);
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = body.await {
                shared.error(format!("session {index}: {e}"));
            }
        }));
    }
    let count = |a: &AtomicU32| a.load(Ordering::Relaxed);
    let mut timed_out = None;

    // Connect: every session connected or failed.
    let connect_over = until(&shared, o.timeout, || {
        count(&shared.connected) + count(&shared.failed_connect) >= n
    })
    .await;
    if !connect_over {
        timed_out = Some("connect");
    }
    let connect_s = match shared.last_connack_ns.load(Ordering::Relaxed) {
        0 => f64::NAN,
        last => last.saturating_sub(shared.first_connect_ns.load(Ordering::Relaxed)) as f64 / 1e9,
    };
    let cpu1 = cpu_s();
    tokio::time::sleep(SETTLE).await;
    let (rss_connected_kib, _) = memory_kib();

    // Deliver: every connected session delivered or failed.
    let cpu2 = cpu_s();
    let deliver_start = shared.now_ns();
    shared.phase.send_replace(Phase::Deliver);
    if timed_out.is_none()
        && !until(&shared, o.timeout, || {
            count(&shared.delivered) + count(&shared.failed_deliver) >= count(&shared.connected)
        })
        .await
    {
        timed_out = Some("deliver");
    }
    let last = shared.last_delivered_ns.load(Ordering::Relaxed);
    let deliver_s = if last == 0 {
        f64::NAN
    } else {
        last.saturating_sub(deliver_start) as f64 / 1e9
    };
    let cpu3 = cpu_s();
    let (rss_delivered_kib, _) = memory_kib();

    // Disconnect: every task ended (those still running after the timeout are stopped).
    let disconnect_start = Instant::now();
    shared.phase.send_replace(Phase::Disconnect);
    let deadline = tokio::time::Instant::now() + o.timeout;
    for t in &mut tasks {
        match tokio::time::timeout_at(deadline, &mut *t).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => shared.error(format!("session task: {e}")),
            Err(_) => {
                timed_out.get_or_insert("disconnect");
                t.abort();
            }
        }
    }
    let disconnect_s = disconnect_start.elapsed().as_secs_f64();
    let cpu4 = cpu_s();
    let (_, rss_peak_kib) = memory_kib();

    let take = |m: &Mutex<Vec<u64>>| {
        std::mem::take(&mut *m.lock().unwrap_or_else(PoisonError::into_inner))
    };
    let (error_count, errors) =
        std::mem::take(&mut *shared.errors.lock().unwrap_or_else(PoisonError::into_inner));
    Report {
        client,
        file_limit,
        connected: count(&shared.connected),
        delivered: count(&shared.delivered),
        connect_s,
        deliver_s,
        disconnect_s,
        connect_ms: percentile_ms(take(&shared.connect_ns)),
        deliver_ms: percentile_ms(take(&shared.deliver_ns)),
        rss_before_kib,
        rss_connected_kib,
        rss_delivered_kib,
        rss_peak_kib,
        cpu_connect_s: cpu1 - cpu0,
        cpu_deliver_s: cpu3 - cpu2,
        cpu_disconnect_s: cpu4 - cpu3,
        cpu_s: cpu4 - cpu0,
        error_count,
        errors,
        timed_out,
        options: o,
    }
}

/// Builds the multi-threaded tokio runtime (one worker per core), raises the open-file limit,
/// runs [`run`] for `o` on it and exits with the report's status.
pub fn main_with<F, Fut>(program: &str, client: &'static str, o: Options, session: F) -> !
where
    F: Fn(Options, Session) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let file_limit = raise_file_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{program}: tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let report = runtime.block_on(run(client, o.clone(), file_limit, |s| {
        session(o.clone(), s)
    }));
    // Every session has ended; the runtime need not be torn down.
    std::process::exit(report.finish());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn opts(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_options() {
        let o = opts(&[]).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!((o.sessions, o.concurrency, o.keep_alive), (10_000, 100, 60));
        let o = opts(&[
            "-h",
            "::1",
            "-p",
            "1884",
            "-n",
            "20",
            "--concurrency",
            "3",
            "--keep-alive",
            "30",
            "-t",
            "x/y",
            "--timeout",
            "1.5",
        ])
        .unwrap();
        assert_eq!(o.host, "::1");
        assert_eq!(
            (o.port, o.sessions, o.concurrency, o.keep_alive),
            (1884, 20, 3, 30)
        );
        assert_eq!(o.timeout, Duration::from_millis(1500));
        assert_eq!(o.topic(7), "x/y/7");
        assert_eq!(opts(&["--help"]), Err(String::new()));
        for bad in [
            &["-n", "0"][..],
            &["--concurrency", "0"],
            &["-n"],
            &["-p", "70000"],
            &["-t", "a/+"],
            &["--timeout", "0"],
            &["--timeout", "-1"],
            &["--bogus"],
        ] {
            assert!(opts(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_proc_status_lines() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1234 kB\nThreads:\t3\n";
        assert_eq!(status_kib(status, "VmRSS"), Some(1234));
        assert_eq!(status_kib(status, "VmHWM"), Some(2048));
        assert_eq!(status_kib(status, "Threads"), None);
        assert_eq!(status_kib(status, "VmSwap"), None);
        let (rss, peak) = memory_kib();
        assert!(rss > 0 && peak >= rss);
        assert!(cpu_s() >= 0.0);
    }

    #[test]
    fn percentiles_in_ms() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(percentile_ms(v), (51.0, 99.0));
        assert!(percentile_ms(Vec::new()).0.is_nan());
    }

    /// Sessions without a broker: every stage is counted, a failure at each stage is told
    /// apart, and no more sessions hold a connect turn at once than the concurrency allows.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn phases_count_sessions_and_bound_the_connects() {
        let o = opts(&["-n", "40", "--concurrency", "4", "--timeout", "30"]).unwrap();
        let turns = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let (t, m) = (turns.clone(), most.clone());
        let report = run("test", o, 0, move |mut s| {
            let (turns, most) = (t.clone(), m.clone());
            async move {
                s.connect_turn().await;
                let now = turns.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                turns.fetch_sub(1, Ordering::SeqCst);
                if s.index == 3 {
                    return Err("refused".into());
                }
                s.connected();
                s.deliver_phase().await;
                if s.index == 5 {
                    return Err("lost".into());
                }
                s.delivered();
                s.disconnect_phase().await;
                Ok(())
            }
        })
        .await;
        assert_eq!(most.load(Ordering::SeqCst), 4);
        assert_eq!((report.connected, report.delivered), (39, 38));
        assert_eq!(report.error_count, 2);
        assert!(report.errors.iter().any(|e| e == "session 3: refused"));
        assert!(report.errors.iter().any(|e| e == "session 5: lost"));
        assert!(report.timed_out.is_none());
        assert!(!report.ok());
        assert!(report.connect_s > 0.0 && report.deliver_s >= 0.0);
        assert!(report.rss_connected_kib > 0);
        let json: serde_json::Value = serde_json::from_str(&report.json()).unwrap();
        assert_eq!(json["connected"], 39);
        assert_eq!(json["ok"], false);
        assert_eq!(json["first_errors"].as_array().unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clean_run_is_ok_and_a_stuck_phase_times_out() {
        let o = opts(&["-n", "10", "--concurrency", "10", "--timeout", "30"]).unwrap();
        let report = run("test", o, 0, |mut s| async move {
            s.connect_turn().await;
            s.connected();
            s.deliver_phase().await;
            s.delivered();
            s.disconnect_phase().await;
            Ok(())
        })
        .await;
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.delivered, 10);

        let o = opts(&["-n", "2", "--timeout", "0.2"]).unwrap();
        let report = run("test", o, 0, |mut s| async move {
            s.connect_turn().await;
            s.connected();
            s.deliver_phase().await;
            if s.index == 0 {
                std::future::pending::<()>().await;
            }
            s.delivered();
            s.disconnect_phase().await;
            Ok(())
        })
        .await;
        assert_eq!(report.timed_out, Some("deliver"));
        assert_eq!(report.delivered, 1);
        assert!(!report.ok());
    }
}
