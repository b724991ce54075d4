//! What the end-to-end programs share: options, the stamped payload, the delivery tracker that
//! checks every message arrived (exactly once for QoS 2), latency percentiles, progress and the
//! report.
//!
//! Every payload starts with 16 bytes: publisher index (u32), sequence number (u32) and the
//! send time (u64, nanoseconds since the run's clock started), all big-endian. Publishers and
//! subscribers run in one process and share that clock, so a subscriber computes each
//! message's latency from publish call to delivery.
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of the stamp at the start of each payload.
pub const STAMP_LEN: usize = 16;

/// Options of an end-to-end run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Publishing clients.
    pub publishers: u32,
    /// Subscribing clients; each receives every message.
    pub subscribers: u32,
    /// QoS of the publishes and of the subscriptions.
    pub qos: u8,
    /// Payload bytes (at least [`STAMP_LEN`]).
    pub size: usize,
    /// Messages each publisher sends.
    pub messages: u32,
    /// QoS 1/2 messages in flight per publisher.
    pub inflight: u16,
    /// Topic prefix; publisher `i` publishes to `PREFIX/i`, subscribers subscribe to `PREFIX/+`.
    pub topic: String,
    /// Give up when no message arrived for this long.
    pub idle_timeout: Duration,
    /// Print progress to stderr once a second.
    pub progress: bool,
    /// Speak MQTT 5.0 instead of 3.1.1.
    pub v5: bool,
    /// 5.0: a User Property (name, value) sent with every publish, which every subscriber
    /// checks it received (without it, received messages must carry no User Property).
    pub user_property: Option<(String, String)>,
}

/// The usage text shared by the programs.
pub const USAGE: &str = "options:
  -h HOST            broker host (default 127.0.0.1)
  -p PORT            broker port (default 1883)
  --publishers N     publishing clients (default 1)
  --subscribers M    subscribing clients, each receiving every message (default 1)
  -q 0|1|2           QoS of publishes and subscriptions (default 1)
  -s BYTES           payload size, at least 16 (default 100)
  -n COUNT           messages per publisher (default 100000)
  --inflight W       QoS 1/2 messages in flight per publisher (default 100)
  -t PREFIX          topic prefix (default bench/e2e)
  --idle-timeout S   give up after S seconds without a message (default 10)
  --progress         print progress to stderr once a second
  --v5               MQTT 5.0 (default 3.1.1)
  --user-property NAME VALUE
                     with --v5: send this User Property with every publish; subscribers
                     check every message carries exactly it
Prints one JSON line with the figures on stdout; exits 1 when a message is missing,
duplicated at QoS 2 or without its User Property, 2 on bad usage.";

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 1883,
            publishers: 1,
            subscribers: 1,
            qos: 1,
            size: 100,
            messages: 100_000,
            inflight: 100,
            topic: "bench/e2e".into(),
            idle_timeout: Duration::from_secs(10),
            progress: false,
            v5: false,
            user_property: None,
        }
    }
}

/// The parsed value of option `name` (the next argument), or the error line.
pub(crate) fn value<T: std::str::FromStr>(name: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{name} needs a value"))?;
    v.parse()
        .map_err(|_| format!("{name}: invalid value {v:?}"))
}

impl Options {
    /// Parse the command-line arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut o = Options::default();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "-h" => o.host = value(&a, args.next())?,
                "-p" => o.port = value(&a, args.next())?,
                "--publishers" => o.publishers = value(&a, args.next())?,
                "--subscribers" => o.subscribers = value(&a, args.next())?,
                "-q" => o.qos = value(&a, args.next())?,
                "-s" => o.size = value(&a, args.next())?,
                "-n" => o.messages = value(&a, args.next())?,
                "--inflight" => o.inflight = value(&a, args.next())?,
                "-t" => o.topic = value(&a, args.next())?,
                "--idle-timeout" => {
                    o.idle_timeout = Duration::from_secs_f64(value(&a, args.next())?)
                }
                "--progress" => o.progress = true,
                "--v5" => o.v5 = true,
                "--user-property" => {
                    let name = value(&a, args.next())?;
                    o.user_property = Some((name, value(&a, args.next())?));
                }
                "--help" => return Err(String::new()),
                _ => return Err(format!("unknown option {a:?}")),
            }
        }
        if o.qos > 2 {
            return Err("-q must be 0, 1 or 2".into());
        }
        if o.size < STAMP_LEN {
            return Err(format!("-s must be at least {STAMP_LEN}"));
        }
        if o.publishers == 0 || o.subscribers == 0 || o.messages == 0 || o.inflight == 0 {
            return Err("--publishers, --subscribers, -n and --inflight must be positive".into());
        }
        if o.topic.is_empty() || o.topic.contains(['+', '#']) {
            return Err("-t must be a topic name without wildcards".into());
        }
        if o.user_property.is_some() && !o.v5 {
            return Err("--user-property needs --v5".into());
        }
        Ok(o)
    }

    /// Whether a received message's User Properties are the ones every publish carries:
    /// exactly the one of `--user-property`, or none without it.
    pub fn properties_ok<'a>(
        &self,
        mut received: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> bool {
        match &self.user_property {
            None => received.next().is_none(),
            Some((name, value)) => {
                received.next() == Some((name.as_str(), value.as_str()))
                    && received.next().is_none()
            }
        }
    }

    /// The topic publisher `i` publishes to.
    pub fn publish_topic(&self, i: u32) -> String {
        format!("{}/{i}", self.topic)
    }

    /// The filter each subscriber subscribes to.
    pub fn filter(&self) -> String {
        format!("{}/+", self.topic)
    }

    /// Messages each subscriber expects.
    pub fn expected(&self) -> u64 {
        u64::from(self.publishers) * u64::from(self.messages)
    }
}

/// Parse the process arguments or exit (status 2 with the usage on error).
pub fn options_or_exit(program: &str) -> Options {
    match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if e.is_empty() {
                println!("usage: {program} [options]\n{USAGE}");
                std::process::exit(0);
            }
            eprintln!("{program}: {e}\nusage: {program} [options]\n{USAGE}");
            std::process::exit(2);
        }
    }
}

/// The run's clock: nanoseconds since it started.
#[derive(Debug, Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    /// Start the clock.
    pub fn start() -> Self {
        Clock(Instant::now())
    }

    /// Nanoseconds since the start (saturating at `u64::MAX`).
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A payload of `size` bytes whose stamp is rewritten for each message.
#[derive(Debug, Clone)]
pub struct Payload(Vec<u8>);

impl Payload {
    /// A payload of `size` bytes (at least [`STAMP_LEN`]) for publisher `publisher`.
    pub fn new(size: usize, publisher: u32) -> Self {
        let mut v = vec![0x5A; size.max(STAMP_LEN)];
        v[..4].copy_from_slice(&publisher.to_be_bytes());
        Payload(v)
    }

    /// Stamp sequence number `seq` sent now and return the bytes to publish.
    pub fn stamp(&mut self, seq: u32, clock: &Clock) -> &[u8] {
        self.0[4..8].copy_from_slice(&seq.to_be_bytes());
        self.0[8..16].copy_from_slice(&clock.now_ns().to_be_bytes());
        &self.0
    }
}

/// The stamp of a received payload: (publisher, sequence number, send time in ns).
pub fn read_stamp(payload: &[u8]) -> Option<(u32, u32, u64)> {
    let p = payload.get(..STAMP_LEN)?;
    let publisher = u32::from_be_bytes(p[..4].try_into().ok()?);
    let seq = u32::from_be_bytes(p[4..8].try_into().ok()?);
    let sent = u64::from_be_bytes(p[8..16].try_into().ok()?);
    Some((publisher, seq, sent))
}

/// One subscriber's record of what arrived.
#[derive(Debug)]
pub struct Tracker {
    messages: u32,
    seen: Vec<Vec<u64>>,
    /// Distinct messages received.
    pub unique: u64,
    /// Messages received more than once (allowed at QoS 1, an error at QoS 2).
    pub duplicates: u64,
    /// Payloads that were not stamped by this run (wrong size, unknown publisher or sequence).
    pub foreign: u64,
    /// Deliveries whose User Properties were not the expected ones (see
    /// [`Options::properties_ok`]).
    pub bad_properties: u64,
    /// Latency of each first delivery, in ns.
    pub latencies: Vec<u64>,
    /// When the last new message arrived (ns on the run's clock).
    pub last_ns: u64,
    size: usize,
    received: Arc<AtomicU64>,
}

impl Tracker {
    /// A tracker for `o`'s messages; `received` counts distinct messages for progress.
    pub fn new(o: &Options, received: Arc<AtomicU64>) -> Self {
        let words = (o.messages as usize).div_ceil(64);
        Tracker {
            messages: o.messages,
            seen: (0..o.publishers).map(|_| vec![0u64; words]).collect(),
            unique: 0,
            duplicates: 0,
            foreign: 0,
            bad_properties: 0,
            latencies: Vec::with_capacity(usize::try_from(o.expected()).unwrap_or(0)),
            last_ns: 0,
            size: o.size,
            received,
        }
    }

    /// Record a received payload at `now_ns` whose properties passed or failed
    /// [`Options::properties_ok`].
    pub fn record_checked(&mut self, payload: &[u8], properties_ok: bool, now_ns: u64) {
        if !properties_ok {
            self.bad_properties += 1;
        }
        self.record(payload, now_ns);
    }

    /// Record a received payload at `now_ns`.
    pub fn record(&mut self, payload: &[u8], now_ns: u64) {
        let Some((publisher, seq, sent)) = read_stamp(payload) else {
            self.foreign += 1;
            return;
        };
        let word = (seq / 64) as usize;
        let bit = 1u64 << (seq % 64);
        let slot = self
            .seen
            .get_mut(publisher as usize)
            .and_then(|s| s.get_mut(word));
        match slot {
            Some(w) if seq < self.messages && payload.len() == self.size => {
                if *w & bit != 0 {
                    self.duplicates += 1;
                } else {
                    *w |= bit;
                    self.unique += 1;
                    self.latencies.push(now_ns.saturating_sub(sent));
                    self.last_ns = now_ns;
                    self.received.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => self.foreign += 1,
        }
    }

    /// Whether every expected message arrived.
    pub fn complete(&self) -> bool {
        self.unique == u64::from(self.messages) * self.seen.len() as u64
    }
}

/// Prints `received / expected` to stderr once a second while running.
#[derive(Debug)]
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Start printing (only when `enabled`); `total` is the number of deliveries expected.
    pub fn start(enabled: bool, label: String, received: Arc<AtomicU64>, total: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = enabled.then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let start = Instant::now();
                loop {
                    for _ in 0..10 {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    let n = received.load(Ordering::Relaxed);
                    eprintln!(
                        "{label}: {n}/{total} delivered ({:.0}%) after {:.0} s",
                        n as f64 * 100.0 / total.max(1) as f64,
                        start.elapsed().as_secs_f64()
                    );
                }
            })
        });
        Progress { stop, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The figures of a run, printed as one JSON line.
#[derive(Debug)]
pub struct Report {
    /// Which client ran.
    pub client: &'static str,
    /// The options.
    pub options: Options,
    /// Seconds from the first publish to the last delivery.
    pub elapsed_s: f64,
    /// Each subscriber's tracker.
    pub trackers: Vec<Tracker>,
    /// A failure that stopped the run early, if any.
    pub error: Option<String>,
}

/// The `p` quantile of `sorted` (NaN for none).
pub(crate) fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64
}

impl Report {
    /// Whether every subscriber got every message (and, at QoS 2, each exactly once).
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self.trackers.iter().all(|t| {
                t.complete()
                    && t.foreign == 0
                    && t.bad_properties == 0
                    && (self.options.qos < 2 || t.duplicates == 0)
            })
    }

    /// Print the JSON line on stdout and a summary on stderr; returns the exit status.
    pub fn finish(self) -> i32 {
        let o = &self.options;
        let published = o.expected();
        let mut lat: Vec<u64> = self
            .trackers
            .iter()
            .flat_map(|t| t.latencies.iter().copied())
            .collect();
        lat.sort_unstable();
        let delivered: u64 = self.trackers.iter().map(|t| t.unique).sum();
        let duplicates: u64 = self.trackers.iter().map(|t| t.duplicates).sum();
        let foreign: u64 = self.trackers.iter().map(|t| t.foreign).sum();
        let bad_properties: u64 = self.trackers.iter().map(|t| t.bad_properties).sum();
        let missing = published * u64::from(o.subscribers) - delivered;
        let rate = published as f64 / self.elapsed_s;
        let p50 = percentile(&lat, 0.50) / 1e3;
        let p99 = percentile(&lat, 0.99) / 1e3;
        let ok = self.ok();
        let mut line = String::new();
        let _ = write!(
            line,
            "{{\"client\":\"{}\",\"publishers\":{},\"subscribers\":{},\"qos\":{},\"size\":{},\
             \"messages\":{},\"inflight\":{},\"elapsed_s\":{:.6},\"msgs_per_s\":{:.1},\
             \"deliveries_per_s\":{:.1},\"p50_us\":{:.1},\"p99_us\":{:.1},\"delivered\":{},\
             \"missing\":{},\"duplicates\":{},\"foreign\":{},\"bad_properties\":{},\
             \"protocol\":\"{}\",\"user_property\":{},\"ok\":{}",
            self.client,
            o.publishers,
            o.subscribers,
            o.qos,
            o.size,
            published,
            o.inflight,
            self.elapsed_s,
            rate,
            delivered as f64 / self.elapsed_s,
            p50,
            p99,
            delivered,
            missing,
            duplicates,
            foreign,
            bad_properties,
            if o.v5 { "5.0" } else { "3.1.1" },
            o.user_property.is_some(),
            ok
        );
        if let Some(e) = &self.error {
            let _ = write!(line, ",\"error\":{:?}", e);
        }
        line.push('}');
        println!("{line}");
        eprintln!(
            "{}: MQTT {}, QoS {} x {} B, {} pub x {} sub, {} messages: {:.0} msg/s, latency p50 \
             {:.0} µs p99 {:.0} µs, missing {missing}, duplicates {duplicates}, bad properties \
             {bad_properties}{}",
            self.client,
            if o.v5 { "5.0" } else { "3.1.1" },
            o.qos,
            o.size,
            o.publishers,
            o.subscribers,
            published,
            rate,
            p50,
            p99,
            if ok { "" } else { " — FAILED" }
        );
        if let Some(e) = &self.error {
            eprintln!("{}: {e}", self.client);
        }
        if ok { 0 } else { 1 }
    }
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
        let o = opts(&["-q", "2", "-s", "64", "-n", "10", "--publishers", "3"]).unwrap();
        assert_eq!((o.qos, o.size, o.messages, o.publishers), (2, 64, 10, 3));
        assert_eq!(o.expected(), 30);
        assert!(opts(&["-q", "3"]).is_err());
        assert!(opts(&["-s", "8"]).is_err());
        assert!(opts(&["-t", "a/#"]).is_err());
        assert!(opts(&["-n"]).is_err());
        assert!(!o.v5 && o.user_property.is_none());
        let o = opts(&["--v5", "--user-property", "k", "v w"]).unwrap();
        assert!(o.v5);
        assert_eq!(o.user_property, Some(("k".into(), "v w".into())));
        assert!(opts(&["--user-property", "k", "v"]).is_err());
        assert!(opts(&["--v5", "--user-property", "k"]).is_err());
    }

    #[test]
    fn properties_ok_wants_exactly_the_user_property() {
        let with = opts(&["--v5", "--user-property", "k", "v"]).unwrap();
        let without = opts(&["--v5"]).unwrap();
        assert!(with.properties_ok([("k", "v")].into_iter()));
        assert!(!with.properties_ok(std::iter::empty()));
        assert!(!with.properties_ok([("k", "x")].into_iter()));
        assert!(!with.properties_ok([("x", "v")].into_iter()));
        assert!(!with.properties_ok([("k", "v"), ("k", "v")].into_iter()));
        assert!(without.properties_ok(std::iter::empty()));
        assert!(!without.properties_ok([("k", "v")].into_iter()));
    }

    #[test]
    fn bad_properties_fail_the_report() {
        let o = opts(&["-n", "1", "-s", "20", "--v5", "--user-property", "k", "v"]).unwrap();
        let clock = Clock::start();
        let report = |properties_ok| {
            let mut t = Tracker::new(&o, Arc::new(AtomicU64::new(0)));
            t.record_checked(Payload::new(20, 0).stamp(0, &clock), properties_ok, 0);
            assert!(t.complete());
            assert_eq!(t.bad_properties, u64::from(!properties_ok));
            Report {
                client: "test",
                options: o.clone(),
                elapsed_s: 1.0,
                trackers: vec![t],
                error: None,
            }
        };
        assert!(report(true).ok());
        assert!(!report(false).ok());
    }

    #[test]
    fn tracker_counts_unique_duplicate_and_foreign() {
        let o = opts(&["-n", "3", "--publishers", "2", "-s", "20"]).unwrap();
        let received = Arc::new(AtomicU64::new(0));
        let mut t = Tracker::new(&o, received.clone());
        let clock = Clock::start();
        let mut p0 = Payload::new(20, 0);
        let mut p1 = Payload::new(20, 1);
        for seq in 0..3 {
            let b = p0.stamp(seq, &clock).to_vec();
            t.record(&b, clock.now_ns());
        }
        assert!(!t.complete());
        for seq in 0..3 {
            let b = p1.stamp(seq, &clock).to_vec();
            t.record(&b, clock.now_ns());
        }
        assert!(t.complete());
        let again = p1.stamp(2, &clock).to_vec();
        t.record(&again, clock.now_ns());
        t.record(Payload::new(20, 7).stamp(0, &clock), 0);
        t.record(b"short", 0);
        t.record(p0.stamp(3, &clock), 0);
        assert_eq!((t.unique, t.duplicates, t.foreign), (6, 1, 3));
        assert_eq!(received.load(Ordering::Relaxed), 6);
        assert_eq!(t.latencies.len(), 6);
    }

    #[test]
    fn percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 51.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
