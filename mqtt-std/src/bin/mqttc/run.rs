//! `mqttc pub` and `mqttc sub`.

use std::fmt;
use std::io::{self, BufRead as _, Read as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use mqtt_proto::{TopicFilter, TopicName};
use mqtt_std::{
    Client, ClientOptions, ConnectOptions, DisconnectReason, Error, QoS, Reconnect,
    SubAckReturnCode, TlsConfig, Will, WsError,
};

use crate::args::{Args, Mode, Payload};

/// A run-time failure: exit status 1, one line on stderr.
#[derive(Debug)]
pub struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure(e.to_string())
    }
}

fn fail<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(msg.into()))
}

/// The `-W` limit.
struct Deadline(Option<Instant>, u64);

impl Deadline {
    fn left(&self) -> Result<Option<Duration>, Failure> {
        match self.0 {
            None => Ok(None),
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    fail(format!("timed out after {} s", self.1))
                } else {
                    Ok(Some(left))
                }
            }
        }
    }
    fn timed_out(&self) -> Failure {
        Failure(format!("timed out after {} s", self.1))
    }
}

/// The largest MQTT packet: a remaining length of 268,435,455 and a 5-byte fixed header.
const MAX_PACKET: usize = 268_435_455 + 5;

/// Client options for the command line: by default any packet the protocol allows may arrive
/// (the receive buffer is allocated zeroed, so untouched pages cost nothing), and the
/// transmit buffer fits the payload to send. The queues of received messages and of
/// publishes are bounded in bytes (the library's 64 MiB, or `--queue-bytes`), so memory
/// stays under a packet, its message and the queues whatever the broker sends.
pub fn cli_options(client_id: &str, payload_len: usize) -> ClientOptions {
    // A queue behind the in-flight window keeps `pub -l` streaming: the IO thread sends the
    // next message as soon as an acknowledgement frees a slot.
    ClientOptions::new(client_id)
        .max_queued_publishes(1024)
        .max_packet_size(MAX_PACKET)
        .transmit_buffer_size(payload_len.saturating_add(70_000).min(MAX_PACKET))
}

/// `pub -l` and `sub` connect again after a lost link.
fn reconnects(a: &Args) -> bool {
    match a.mode {
        Mode::Sub => true,
        Mode::Pub => matches!(a.payload, Some(Payload::Lines)),
    }
}

/// `sub`'s reconnects: 0.5 s, doubling up to 30 s (each with jitter).
const SUB_RECONNECT: Reconnect = Reconnect {
    initial: Duration::from_millis(500),
    max: Duration::from_secs(30),
};

/// Whether `sub` connects again after a connection ended for `reason`: after a lost link
/// (the broker closed it or went away, a reset, a keep-alive or CONNACK timeout, the
/// broker's WebSocket close) and a 5.0 broker's "server busy" (0x89) or "server shutting
/// down" (0x8B); not after a refusal, a TLS failure, a protocol violation or any other
/// DISCONNECT from the broker.
fn retried(reason: &DisconnectReason) -> bool {
    use mqtt_proto::v5::DisconnectReasonCode as Code;
    match reason {
        DisconnectReason::TransportClosed
        | DisconnectReason::Io(_)
        | DisconnectReason::KeepAliveTimeout
        | DisconnectReason::ConnAckTimeout
        | DisconnectReason::WebSocket(WsError::Closed(_)) => true,
        DisconnectReason::Server { code, .. } => {
            matches!(code, Code::ServerBusy | Code::ServerShuttingDown)
        }
        _ => false,
    }
}

/// Builds the client, connects, and runs `pub` or `sub`.
pub fn run(a: &Args) -> Result<(), Failure> {
    // A limit past the end of the clock is no limit.
    let deadline = Deadline(
        a.timeout_secs
            .and_then(|s| Instant::now().checked_add(Duration::from_secs(s))),
        a.timeout_secs.unwrap_or(0),
    );
    // A payload from stdin or a file is read before connecting, so a bad file fails early.
    let payload = match &a.payload {
        Some(Payload::Text(t)) => Some(t.clone().into_bytes()),
        Some(Payload::Empty) => Some(Vec::new()),
        Some(Payload::File(path)) => match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
        },
        Some(Payload::Stdin) => {
            let mut buf = Vec::new();
            if let Err(e) = io::stdin().lock().read_to_end(&mut buf) {
                return fail(format!("cannot read stdin: {e}"));
            }
            Some(buf)
        }
        Some(Payload::Lines) | None => None,
    };

    let payload_len = payload.as_ref().map_or(0, Vec::len);
    let mut options = cli_options(&a.client_id, payload_len);
    if a.debug {
        options = options
            .trace(crate::trace::to_stderr)
            .trace_v5(crate::trace::to_stderr_v5);
    }
    if let Some(dir) = &a.session_store {
        options = options.session_store(dir);
    }
    if let Some(n) = a.max_packet {
        options = options.max_packet_size(n);
    }
    if let Some(n) = a.queue_bytes {
        options = options.receive_queue_bytes(n).publish_queue_bytes(n);
    }
    // Why the run ended, when it was for a reason another attempt would not mend.
    let ended: Arc<Mutex<Option<DisconnectReason>>> = Arc::default();
    if reconnects(a) {
        // As mosquitto_sub: a lost link is not the end of the run. `pub -l` goes on reading
        // lines while the link is down: they wait in the session, sent after the reconnect.
        options = options
            .reconnect(Some(SUB_RECONNECT))
            .offline_publish(a.mode == Mode::Pub)
            .topic_aliases(a.v5.topic_aliases.unwrap_or(0));
    }
    let client = Client::new(options)?;
    if reconnects(a) {
        // An end that another attempt would not mend ends the run: the reconnect is called
        // off (failing the publishes in flight), and `recv` or the next publish reports it.
        let weak = client.downgrade();
        let ended = Arc::clone(&ended);
        client.set_disconnect_notify(move |reason| {
            if !retried(reason) {
                *ended.lock().unwrap_or_else(PoisonError::into_inner) = Some(reason.clone());
                if let Some(c) = weak.upgrade() {
                    let _ = c.disconnect();
                }
            }
        });
    }
    client.set_websocket(a.websocket.clone());
    if let Some(user) = &a.username {
        client.set_login(user, a.password.as_deref().map(str::as_bytes));
    }
    if let Some(w) = &a.will {
        let mut will = Will::new(w.topic.clone(), w.payload.clone(), w.qos, w.retain)
            .properties(a.v5.will.clone());
        if let Some(d) = a.v5.will_delay {
            will = will.delay(d);
        }
        client.set_will(Some(will))?;
    }
    let connect = ConnectOptions::default()
        .keep_alive(a.keep_alive)
        .clean_session(a.clean_session)
        .protocol(a.protocol);
    let mut connect = a.v5.connect(connect);
    if let Some(left) = deadline.left()? {
        let wait = connect.wait_time();
        connect = connect.wait(left.min(wait));
    }
    let connected = match &a.tls {
        None => client.connect(&a.host, a.port, &connect),
        Some(t) => {
            let tls_err = |e: mqtt_std::TlsError| Failure(format!("tls: {e}"));
            let mut b = TlsConfig::builder();
            if let Some(f) = &t.cafile {
                b = b.ca_file(f).map_err(tls_err)?;
            }
            if let Some(d) = &t.capath {
                b = b.ca_dir(d).map_err(tls_err)?;
            }
            if t.cafile.is_none() && t.capath.is_none() {
                b = b.os_roots().map_err(tls_err)?;
            }
            if !t.alpn.is_empty() {
                let protocols: Vec<&str> = t.alpn.iter().map(String::as_str).collect();
                b = b.alpn(&protocols);
            }
            if let (Some(cert), Some(key)) = (&t.cert, &t.key) {
                b = b
                    .client_cert_files(cert, key)
                    .map_err(|e| Failure(format!("tls: {e}")))?;
            }
            if let Some(name) = &t.server_name {
                b = b.server_name(name);
            }
            let tls = b
                .skip_server_name_check(t.insecure)
                .build()
                .map_err(|e| Failure(format!("tls: {e}")))?;
            client.secure_connect(&a.host, a.port, &tls, &connect)
        }
    };
    match connected {
        Ok(_) => {}
        Err(Error::Timeout) if a.timeout_secs.is_some() => return Err(deadline.timed_out()),
        Err(e) => return Err(e.into()),
    }
    let result = match a.mode {
        Mode::Pub => publish(&client, a, payload, &deadline, &ended),
        Mode::Sub => subscribe(&client, a, &deadline),
    };
    match result {
        Ok(()) => {
            match a.v5.disconnect_session_expiry {
                Some(expiry) => client.disconnect_with(
                    mqtt_std::v5::DisconnectReasonCode::NormalDisconnection,
                    Some(expiry),
                )?,
                None => client.disconnect()?,
            }
            // Done with the last message taken (a durable store hands it out again otherwise).
            client.close();
            Ok(())
        }
        Err(e) => {
            // A failure still ends politely when the link is up (no will for a local error).
            let _ = client.disconnect();
            Err(e)
        }
    }
}

fn wait_all(pending: &mut Vec<mqtt_std::Pending<()>>, deadline: &Deadline) -> Result<(), Failure> {
    for p in pending.drain(..) {
        let r = match deadline.left()? {
            Some(left) => p.wait_timeout(left),
            None => p.wait(),
        };
        match r {
            Ok(()) => {}
            Err(Error::Timeout) => return Err(deadline.timed_out()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn publish(
    client: &Client,
    a: &Args,
    payload: Option<Vec<u8>>,
    deadline: &Deadline,
    ended: &Mutex<Option<DisconnectReason>>,
) -> Result<(), Failure> {
    let topic = a.topics.first().map(String::as_str).unwrap_or_default();
    let mut pending = Vec::new();
    let ended = || -> Result<(), Failure> {
        match &*ended.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(reason) => Err(Error::ConnectionLost(reason.clone()).into()),
            None => Ok(()),
        }
    };
    let send = |body: &[u8], pending: &mut Vec<mqtt_std::Pending<()>>| -> Result<(), Failure> {
        loop {
            ended()?;
            let sent = if a.v5.publish.is_empty() {
                client.publish(topic, body, a.qos, a.retain)
            } else {
                client.publish_with(topic, body, a.qos, a.retain, &a.v5.publish)
            };
            match sent {
                Ok(p) => {
                    pending.push(p);
                    return Ok(());
                }
                // The window and the queue behind it are full: wait for the oldest flow.
                Err(Error::WindowFull) if !pending.is_empty() => {
                    let mut oldest: Vec<_> = pending.drain(..1).collect();
                    wait_all(&mut oldest, deadline)?;
                }
                // `-l -q 0` while the link is down (QoS 1/2 wait in the session): wait for the
                // reconnect, a second at a time so that an end is seen.
                Err(Error::NotConnected) if reconnects(a) => {
                    let wait = deadline.left()?.map_or(Duration::from_secs(1), |left| {
                        left.min(Duration::from_secs(1))
                    });
                    match client.wait_connected(wait) {
                        Ok(()) | Err(Error::Timeout) => {}
                        Err(e) => {
                            ended()?;
                            return Err(e.into());
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match payload {
        Some(body) => {
            for i in 0..a.repeat {
                if i > 0 && !a.repeat_delay.is_zero() {
                    std::thread::sleep(a.repeat_delay);
                    deadline.left()?;
                }
                send(&body, &mut pending)?;
            }
        }
        None => {
            // -l: one message per line of stdin (without the line end).
            let stdin = io::stdin();
            let mut line = Vec::new();
            let mut lock = stdin.lock();
            loop {
                line.clear();
                match lock.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        send(&line, &mut pending)?;
                    }
                    Err(e) => return fail(format!("cannot read stdin: {e}")),
                }
                deadline.left()?;
            }
        }
    }
    wait_all(&mut pending, deadline)?;
    // Messages restored from a durable store complete too before the exit (with `-l`, across
    // reconnects).
    while client.publishes_in_flight() > 0 {
        deadline.left()?;
        ended()?;
        if !client.is_connected() && !reconnects(a) {
            return fail("connection lost with messages in flight (kept in the session store)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn subscribe(client: &Client, a: &Args, deadline: &Deadline) -> Result<(), Failure> {
    let filters: Vec<(&str, mqtt_std::QoS)> =
        a.topics.iter().map(|t| (t.as_str(), a.qos)).collect();
    if !filters.is_empty() && a.protocol == mqtt_std::ProtocolVersion::V5 {
        let mut options = mqtt_std::v5::SubscribeOptions::new(a.qos)
            .no_local(a.sub.no_local)
            .retain_as_published(a.sub.retain_as_published);
        if let Some(h) = a.sub.retain_handling {
            options = options.retain_handling(h);
        }
        let filters: Vec<_> = a.topics.iter().map(|t| (t.as_str(), options)).collect();
        let pending = client.subscribe_with(&filters, a.v5.subscription_identifier)?;
        let codes = wait_for(pending, deadline)?;
        for (filter, code) in a.topics.iter().zip(&codes) {
            if code.is_error() {
                return fail(format!(
                    "subscription to {filter:?} refused by the broker: {code}"
                ));
            }
        }
    } else if !filters.is_empty() {
        let codes = wait_for(client.subscribe(&filters)?, deadline)?;
        for (filter, code) in a.topics.iter().zip(&codes) {
            if *code == SubAckReturnCode::Failure {
                return fail(format!(
                    "subscription to {filter:?} refused by the broker (0x80)"
                ));
            }
        }
    }
    if !a.sub.unsubscribe.is_empty() {
        let filters: Vec<&str> = a.sub.unsubscribe.iter().map(String::as_str).collect();
        wait_for(client.unsubscribe(&filters)?, deadline)?;
    }
    if a.sub.exit_subscribed || a.topics.is_empty() {
        return Ok(());
    }
    let filter_out: Vec<TopicFilter<'_>> = a
        .sub
        .filter_out
        .iter()
        .filter_map(|f| TopicFilter::new(f).ok())
        .collect();
    let mut clearing = Vec::new();
    let stdout = io::stdout();
    let mut received = 0u64;
    loop {
        if a.count.is_some_and(|n| received >= n) {
            break;
        }
        let msg = match deadline.left()? {
            Some(left) => client.recv_timeout(left),
            None => client.recv(),
        };
        let msg = match msg {
            Ok(m) => m,
            Err(Error::Timeout) => return Err(deadline.timed_out()),
            Err(e) => return Err(e.into()),
        };
        if a.sub.retained_only && !msg.retain {
            break;
        }
        if a.sub.remove_retained && msg.retain && !msg.payload.is_empty() {
            // An empty retained message clears the topic's retained one.
            clearing.push(client.publish(&msg.topic, b"", QoS::AtLeastOnce, true)?);
        }
        if a.sub.no_retained && msg.retain {
            continue;
        }
        let hidden =
            TopicName::new(&msg.topic).is_ok_and(|t| filter_out.iter().any(|f| f.matches(t)));
        if hidden {
            continue;
        }
        // Written from where the message is (a buffered writer passes a large payload
        // straight through): no copy of the payload's size.
        let mut out = io::BufWriter::new(stdout.lock());
        let written = match &a.sub.format {
            Some(f) => f.write(&mut out, &msg, &a.client_id, std::time::SystemTime::now()),
            None => plain(&mut out, &msg, a.verbose, !a.sub.no_newline),
        };
        match written.and_then(|()| out.flush()) {
            Ok(()) => {}
            // stdout closed (e.g. `| head`): stop quietly.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => break,
            Err(e) => return fail(format!("cannot write to stdout: {e}")),
        }
        received += 1;
    }
    wait_all(&mut clearing, deadline)
}

/// `sub`'s output without `-F`: the payload, after its topic with `-v`, and a newline
/// unless `-N`.
fn plain(
    out: &mut impl io::Write,
    m: &mqtt_std::Message,
    verbose: bool,
    newline: bool,
) -> io::Result<()> {
    if verbose {
        out.write_all(m.topic.as_bytes())?;
        out.write_all(b" ")?;
    }
    out.write_all(&m.payload)?;
    if newline {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Waits for a pending subscribe or unsubscribe within the deadline.
fn wait_for<T: Clone + Send + 'static>(
    p: mqtt_std::Pending<T>,
    deadline: &Deadline,
) -> Result<T, Failure> {
    let r = match deadline.left()? {
        Some(left) => p.wait_timeout(left),
        None => p.wait(),
    };
    match r {
        Ok(t) => Ok(t),
        Err(Error::Timeout) => Err(deadline.timed_out()),
        Err(e) => Err(e.into()),
    }
}
