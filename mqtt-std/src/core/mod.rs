//! The driver core: what the blocking and the tokio clients do alike between their links and
//! the session, written once.
//!
//! A client is a shell around two things from here:
//! - [`Common`], the state its handles share with its driver under one lock: the session,
//!   where the connection stands, the login and will, and the completions waiting on
//!   acknowledgements;
//! - [`Core`](driver::Core), owned by the driver (the blocking client's IO thread, the tokio
//!   client's task): the link, the connection attempt, reconnect with backoff, feeding input,
//!   pumping output, turning session events into completions, syncing the durable store
//!   before a write, ending a link, tracing.
//!
//! What differs between the clients stays in their shells: how IO is done (a reader thread
//! and blocking writes, or futures) and how a completion reaches its caller (a
//! `Slot` with an optional callback, or a oneshot channel), which the
//! shell names through a [`Family`].

/// A connection lifecycle event through the `log` facade (feature `log`; target `mqtt_std`).
/// Without the feature nothing is formatted.
macro_rules! lifecycle {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "log")]
        ::log::$level!(target: "mqtt_std", $($arg)+);
        #[cfg(not(feature = "log"))]
        let _ = format_args!($($arg)+);
    }};
}

mod deadlines;
pub(crate) mod driver;
mod outgoing;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mqtt_proto::{PacketId, QoS, SubAckReturnCode, TopicName};
use mqtt_session::{Session, VecStore};

use crate::error::{DisconnectReason, Error};
use crate::options::{ClientOptions, ConnectOptions, Message, Will};
use crate::store::{FileStore, SessionStore};
use crate::tls::TlsConfig;
use crate::v5::{PubAck, SubAckReasonCode, SubscribeOptions, UnsubAckReasonCode};
use crate::ws::WsConfig;

pub(crate) use deadlines::{backoff, deadline_after};
pub(crate) use outgoing::Outgoing;

/// The session of both clients: its store in memory or on disk, its buffers on the heap.
pub(crate) type Sess = Session<SessionStore, Vec<u8>>;
/// The disconnect notification ([`crate::Client::set_disconnect_notify`]).
pub(crate) type DisconnectNotify = Arc<dyn Fn(&DisconnectReason) + Send + Sync>;
/// The reconnect notification ([`crate::Client::set_reconnect_notify`]).
pub(crate) type ReconnectNotify = Arc<dyn Fn(&Reconnected) + Send + Sync>;

/// What an automatic reconnect found ([`crate::Client::set_reconnect_notify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnected {
    /// The broker resumed the session (clean session off, and it kept one).
    pub session_present: bool,
    /// The subscriptions sent again because the broker had no session (none when it had
    /// one): every filter a SUBACK granted on an earlier connection and no UNSUBSCRIBE took
    /// back, with its requested QoS, in one SUBSCRIBE.
    pub resubscribed: Vec<(String, QoS)>,
}

/// A subscription as the client restores it after a reconnect that found no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sub {
    pub(crate) filter: String,
    pub(crate) options: SubscribeOptions,
    /// 5.0: its Subscription Identifier.
    pub(crate) id: Option<u32>,
}

impl Sub {
    fn new(filter: &str, options: SubscribeOptions, id: Option<u32>) -> Self {
        Sub {
            filter: filter.to_owned(),
            options,
            id,
        }
    }
}

/// How a client hands results to the callers waiting for them.
pub(crate) trait Family: 'static {
    /// The driver's end of one waiting caller.
    type Done<T: Clone + Send + 'static>: Send;

    /// Hands `r` to the caller. A callback to run once the lock is released comes back.
    fn complete<T: Clone + Send + 'static>(
        done: Self::Done<T>,
        r: Result<T, Error>,
    ) -> Option<Fire>;
}

/// Where the connection stands, as the application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// No connection (a reconnect may be scheduled: see [`Common::reconnecting`]).
    Idle,
    /// TCP, TLS or CONNACK under way.
    Connecting,
    /// CONNACK accepted.
    Connected,
    /// The client was closed; its driver has ended or is ending.
    Closed,
}

/// How the application asked to end the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseKind {
    /// Send DISCONNECT (on 5.0 with this reason code and these properties, if given), then
    /// close.
    Disconnect(
        Option<
            Box<(
                mqtt_proto::v5::DisconnectReasonCode,
                crate::v5::DisconnectProperties,
            )>,
        >,
    ),
    /// Close without DISCONNECT.
    Drop,
}

/// The caller waiting for a publish: for its completion, or (5.0,
/// [`crate::Client::publish_v5`]) for the broker's answer.
pub(crate) enum PubDone<F: Family> {
    Plain(F::Done<()>),
    V5(F::Done<PubAck>),
}

impl<F: Family> PubDone<F> {
    /// Hands the outcome to the caller: the broker's answer (a refusal is
    /// [`Error::PublishRejected`] for a plain publish), or why there is none.
    pub(crate) fn complete(self, r: Result<PubAck, Error>) -> Option<Fire> {
        match self {
            PubDone::Plain(done) => {
                let r = r.and_then(|a| match a.reason_code.is_error() {
                    true => Err(Error::PublishRejected(a.reason_code)),
                    false => Ok(()),
                });
                F::complete(done, r)
            }
            PubDone::V5(done) => F::complete(done, r),
        }
    }

    /// Whether the caller wants the broker's answer in full.
    pub(crate) fn wants_answer(&self) -> bool {
        matches!(self, PubDone::V5(_))
    }
}

/// Where to connect (again, for an automatic reconnect).
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) ws: Option<WsConfig>,
    pub(crate) options: ConnectOptions,
}

/// The session's clock: milliseconds since the client was created.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub(crate) epoch: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            epoch: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> mqtt_session::Instant {
        mqtt_session::Instant::from_millis(
            u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX),
        )
    }

    /// The wall-clock instant of a session instant.
    pub(crate) fn instant(&self, t: mqtt_session::Instant) -> Instant {
        self.epoch
            .checked_add(Duration::from_millis(t.as_millis()))
            .unwrap_or_else(Instant::now)
    }
}

/// What a client's handles and its driver share, under the client's one lock.
pub(crate) struct Common<F: Family> {
    pub(crate) session: Sess,
    pub(crate) status: Status,
    /// A reconnect is scheduled or under way.
    pub(crate) reconnecting: bool,
    /// The application cancelled a scheduled reconnect (disconnect while idle).
    pub(crate) cancel_reconnect: bool,
    /// Why the last connection ended.
    pub(crate) last_reason: Option<DisconnectReason>,
    pub(crate) login: Option<(String, Option<Vec<u8>>)>,
    pub(crate) will: Option<Will>,
    pub(crate) websocket: Option<WsConfig>,
    /// The application asked to end the connection.
    pub(crate) close_req: Option<CloseKind>,
    /// The client is being closed: the driver ends.
    pub(crate) shutdown: bool,
    /// QoS 1/2 publishes by packet id, until their flow ends.
    pub(crate) pubs: HashMap<PacketId, PubDone<F>>,
    /// 5.0: the PUBACK or PUBREC of a publish in `pubs` that wants the broker's answer,
    /// until its flow ends.
    pub(crate) pub_answers: HashMap<PacketId, PubAck>,
    pub(crate) subs: HashMap<PacketId, F::Done<Vec<SubAckReturnCode>>>,
    pub(crate) unsubs: HashMap<PacketId, F::Done<()>>,
    /// 5.0 requests, completed with their reason codes.
    pub(crate) subs5: HashMap<PacketId, F::Done<Vec<SubAckReasonCode>>>,
    pub(crate) unsubs5: HashMap<PacketId, F::Done<Vec<UnsubAckReasonCode>>>,
    /// 5.0: the re-authentication under way, until the broker's AUTH 0x00.
    pub(crate) reauth: Option<F::Done<()>>,
    /// 5.0 requests waiting for their response, by Correlation Data.
    pub(crate) requests: HashMap<Vec<u8>, F::Done<Message>>,
    /// Response topics a request subscribed to on this connection.
    pub(crate) response_topics: Vec<String>,
    /// QoS 0 publishes by sequence number, until written.
    pub(crate) qos0: VecDeque<(u64, PubDone<F>)>,
    pub(crate) qos0_seq: u64,
    /// Waiting for the current connection (or attempt) to end.
    pub(crate) end_waiters: Vec<F::Done<DisconnectReason>>,
    pub(crate) disconnect_notify: Option<DisconnectNotify>,
    pub(crate) reconnect_notify: Option<ReconnectNotify>,
    /// The subscriptions a SUBACK granted and no UNSUBSCRIBE took back: an automatic
    /// reconnect that finds no session sends them again.
    pub(crate) subscriptions: Vec<Sub>,
    /// The filters of SUBSCRIBE and UNSUBSCRIBE requests awaiting their acknowledgement.
    pub(crate) sub_filters: HashMap<PacketId, Vec<Sub>>,
    pub(crate) unsub_filters: HashMap<PacketId, Vec<String>>,
}

impl<F: Family> Common<F> {
    /// The session for `options`, with its durable store opened if the options ask for one;
    /// the messages that store kept unfinished from the last run come back too.
    pub(crate) fn open(options: &ClientOptions) -> Result<(Self, Vec<Message>), Error> {
        let (store, restored) = match &options.session_store {
            None => (SessionStore::Memory(VecStore::new()), Vec::new()),
            Some((dir, store_options)) => {
                let f = FileStore::open_with(dir, *store_options).map_err(Error::Store)?;
                let restored = crate::store::restored_messages(&f);
                (SessionStore::File(Box::new(f)), restored)
            }
        };
        let session = Session::new(
            options.session_config(),
            store,
            vec![0u8; options.max_packet_size],
            vec![0u8; options.transmit_buffer_size],
        );
        Ok((
            Common {
                session,
                status: Status::Idle,
                reconnecting: false,
                cancel_reconnect: false,
                last_reason: None,
                login: None,
                will: None,
                websocket: None,
                close_req: None,
                shutdown: false,
                pubs: HashMap::new(),
                pub_answers: HashMap::new(),
                subs: HashMap::new(),
                unsubs: HashMap::new(),
                subs5: HashMap::new(),
                unsubs5: HashMap::new(),
                reauth: None,
                requests: HashMap::new(),
                response_topics: Vec::new(),
                qos0: VecDeque::new(),
                qos0_seq: 0,
                end_waiters: Vec::new(),
                disconnect_notify: None,
                reconnect_notify: None,
                subscriptions: Vec::new(),
                sub_filters: HashMap::new(),
                unsub_filters: HashMap::new(),
            },
            restored,
        ))
    }

    /// `set_login` of both clients.
    pub(crate) fn set_login(&mut self, username: &str, password: Option<&[u8]>) {
        self.login = Some((username.to_owned(), password.map(<[u8]>::to_vec)));
    }

    /// `set_will` of both clients: the topic is checked here.
    pub(crate) fn set_will(&mut self, will: Option<Will>) -> Result<(), Error> {
        if let Some(w) = &will {
            TopicName::new(&w.topic).map_err(Error::Invalid)?;
        }
        self.will = will;
        Ok(())
    }

    /// Records the completion of a publish the session accepted (`id` `None` for QoS 0).
    pub(crate) fn register_publish(&mut self, id: Option<PacketId>, done: F::Done<()>) {
        self.register_pub(id, PubDone::Plain(done));
    }

    /// Records a 5.0 publish the session accepted, whose caller wants the broker's answer.
    pub(crate) fn register_publish5(&mut self, id: Option<PacketId>, done: F::Done<PubAck>) {
        self.register_pub(id, PubDone::V5(done));
    }

    fn register_pub(&mut self, id: Option<PacketId>, done: PubDone<F>) {
        match id {
            Some(id) => {
                self.pubs.insert(id, done);
            }
            None => {
                self.qos0_seq += 1;
                self.qos0.push_back((self.qos0_seq, done));
            }
        }
    }

    /// Records a SUBSCRIBE the session accepted, so that its grants can be restored.
    pub(crate) fn register_subscribe(
        &mut self,
        id: PacketId,
        filters: &[(&str, QoS)],
        done: F::Done<Vec<SubAckReturnCode>>,
    ) {
        let owned = filters
            .iter()
            .map(|(f, q)| Sub::new(f, SubscribeOptions::new(*q), None))
            .collect();
        self.sub_filters.insert(id, owned);
        self.subs.insert(id, done);
    }

    /// Records a 5.0 SUBSCRIBE the session accepted.
    pub(crate) fn register_subscribe5(
        &mut self,
        id: PacketId,
        filters: &[(&str, SubscribeOptions)],
        subscription_id: Option<u32>,
        done: F::Done<Vec<SubAckReasonCode>>,
    ) {
        let owned = filters
            .iter()
            .map(|(f, o)| Sub::new(f, *o, subscription_id))
            .collect();
        self.sub_filters.insert(id, owned);
        self.subs5.insert(id, done);
    }

    /// Records an UNSUBSCRIBE the session accepted.
    pub(crate) fn register_unsubscribe(
        &mut self,
        id: PacketId,
        filters: &[&str],
        done: F::Done<()>,
    ) {
        let owned = filters.iter().map(|f| (*f).to_owned()).collect();
        self.unsub_filters.insert(id, owned);
        self.unsubs.insert(id, done);
    }

    /// Records a 5.0 UNSUBSCRIBE the session accepted.
    pub(crate) fn register_unsubscribe5(
        &mut self,
        id: PacketId,
        filters: &[&str],
        done: F::Done<Vec<UnsubAckReasonCode>>,
    ) {
        let owned = filters.iter().map(|f| (*f).to_owned()).collect();
        self.unsub_filters.insert(id, owned);
        self.unsubs5.insert(id, done);
    }

    /// A SUBACK (its raw return or reason codes): the filters it granted are kept (replacing
    /// an earlier grant of the same filter, as the broker does [MQTT-3.8.4-3]).
    pub(crate) fn granted(&mut self, id: PacketId, codes: &[u8]) {
        let Some(filters) = self.sub_filters.remove(&id) else {
            return;
        };
        for (sub, code) in filters.into_iter().zip(codes) {
            if *code >= 0x80 {
                continue;
            }
            match self
                .subscriptions
                .iter_mut()
                .find(|s| s.filter == sub.filter)
            {
                Some(s) => *s = sub,
                None => self.subscriptions.push(sub),
            }
        }
    }

    /// An UNSUBACK (its raw reason codes on 5.0, none on 3.1.1): the filters it removed are
    /// no longer restored (on 5.0, those with code 0x00 or 0x11 "no subscription existed").
    pub(crate) fn ungranted(&mut self, id: PacketId, codes: &[u8]) {
        if let Some(filters) = self.unsub_filters.remove(&id) {
            let gone: Vec<&String> = filters
                .iter()
                .enumerate()
                .filter(|(i, _)| codes.get(*i).is_none_or(|c| *c < 0x80))
                .map(|(_, f)| f)
                .collect();
            self.subscriptions.retain(|s| !gone.contains(&&s.filter));
        }
    }

    /// A 5.0 publish with properties (a plain publish when there are none, so that a 3.1.1
    /// connection takes it).
    pub(crate) fn publish_with(
        &mut self,
        now: mqtt_session::Instant,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        props: &[mqtt_proto::v5::Property<'_>],
    ) -> Result<Option<PacketId>, mqtt_session::CommandError> {
        if props.is_empty() {
            return self.session.publish(now, topic, payload, qos, retain);
        }
        let props = mqtt_proto::v5::Properties::new(props);
        self.session
            .publish_with(now, topic, payload, qos, retain, &props)
    }

    /// A 5.0 SUBSCRIBE with options and an optional Subscription Identifier; on a 3.1.1
    /// connection, filters whose options are only a QoS go out as a 3.1.1 SUBSCRIBE.
    pub(crate) fn subscribe_with(
        &mut self,
        now: mqtt_session::Instant,
        filters: &[(&str, SubscribeOptions)],
        subscription_id: Option<u32>,
    ) -> Result<PacketId, mqtt_session::CommandError> {
        if self.session.protocol() != mqtt_session::ProtocolVersion::V5 {
            let plain: Option<Vec<(&str, QoS)>> = filters
                .iter()
                .map(|(f, o)| (SubscribeOptions::new(o.qos) == *o).then_some((*f, o.qos)))
                .collect();
            return match (plain, subscription_id) {
                (Some(plain), None) => self.session.subscribe(now, &plain),
                _ => Err(mqtt_session::CommandError::RequiresV5),
            };
        }
        let wire: Vec<_> = filters.iter().map(|(f, o)| (*f, o.wire())).collect();
        let list: Vec<_> = subscription_id
            .map(mqtt_proto::v5::Property::SubscriptionIdentifier)
            .into_iter()
            .collect();
        self.session
            .subscribe_with(now, &wire, &mqtt_proto::v5::Properties::new(&list))
    }

    /// Checks a 5.0 DISCONNECT's options before the driver sends it, as the session will
    /// ([`Session::check_disconnect_with`](mqtt_session::Session::check_disconnect_with)): a
    /// non-zero Session Expiry Interval when the CONNECT's was 0 [MQTT-3.14.2-2], a reason
    /// code only a server sends, a Reason String or User Properties that make the packet
    /// larger than the broker's Maximum Packet Size [MQTT-3.14.2-3, MQTT-3.14.2-4].
    pub(crate) fn check_disconnect(
        &self,
        code: mqtt_proto::v5::DisconnectReasonCode,
        props: &crate::v5::DisconnectProperties,
    ) -> Result<(), Error> {
        let list = props.to_list();
        let options = mqtt_session::DisconnectOptions {
            reason_code: code,
            properties: mqtt_proto::v5::Properties::new(&list),
        };
        self.session
            .check_disconnect_with(&options)
            .map_err(Error::from)
    }

    /// The start of a request (both clients' `request`): 5.0 only; `Some` subscription to
    /// make first when `response_topic` has none on this connection yet.
    pub(crate) fn request_start<'t>(
        &self,
        response_topic: &'t str,
    ) -> Result<Option<[(&'t str, SubscribeOptions); 1]>, Error> {
        if self.session.protocol() != mqtt_session::ProtocolVersion::V5 {
            return Err(Error::RequiresV5);
        }
        if self.response_topics.iter().any(|t| t == response_topic) {
            return Ok(None);
        }
        let options = SubscribeOptions::new(QoS::AtLeastOnce).no_local(true);
        Ok(Some([(response_topic, options)]))
    }

    /// The SUBACK of a request's response subscription: kept for this connection, or the
    /// broker's refusal.
    pub(crate) fn response_subscribed(
        &mut self,
        response_topic: &str,
        codes: &[SubAckReasonCode],
    ) -> Result<(), Error> {
        if let Some(code) = codes.first().filter(|c| c.is_error()) {
            return Err(Error::SubscribeRefused(*code));
        }
        self.response_topics.push(response_topic.to_owned());
        Ok(())
    }

    /// QoS 1/2 publishes not yet complete (in flight or queued).
    pub(crate) fn publishes_in_flight(&self) -> usize {
        self.session.inflight() + self.session.queued()
    }

    /// A message the application took: with a durable store, it is finished once the next
    /// one is taken.
    pub(crate) fn took(&self, seq: Option<u64>) {
        if let (Some(seq), Some(f)) = (seq, self.session.store().file()) {
            f.taken(seq);
        }
    }

    /// `sync_session_store` of both clients.
    pub(crate) fn sync_store(&self) -> Result<(), Error> {
        match self.session.store().file().map(FileStore::sync) {
            Some(Err(e)) => Err(Error::Store(e)),
            _ => Ok(()),
        }
    }

    /// The error of a session command.
    pub(crate) fn command_error(&self, e: mqtt_session::CommandError) -> Error {
        self.session.store().command_error(e)
    }
}

/// A callback to run (outside every lock) with the operation's result.
pub(crate) struct Fire(Box<dyn FnOnce() + Send>);

impl Fire {
    pub(crate) fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Fire(Box::new(f))
    }

    pub(crate) fn run(self) {
        (self.0)();
    }
}

/// 64 random bits (std's per-process random hash keys and the clock).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
