//! An async MQTT 3.1.1 client for [tokio] (feature `tokio`).
//!
//! The same [`mqtt_session::Session`] as the blocking [`Client`](crate::Client), the
//! same [`ClientOptions`], [`ConnectOptions`], [`Will`], [`TlsConfig`] (rustls with the `ring`
//! provider, here through `tokio-rustls`) and [`WsConfig`] (MQTT over WebSocket through
//! `tokio-tungstenite`), the same [`Error`] and [`DisconnectReason`]. One task per client (the
//! *driver*) owns the connection: it feeds the session what the link reads, writes what the
//! session wants sent, and sleeps until the session's next deadline; it holds no protocol
//! logic. Commands run the session's command on the caller's task under a short lock, so an
//! invalid topic is an immediate `Err`, then wake the driver.
//!
//! Why a feature of `mqtt-std` and not a crate of its own: an async client needs exactly the
//! blocking client's options, TLS set-up, WebSocket settings, errors and disconnect reasons.
//! Inside `mqtt-std` it shares those types as they are, without turning their internals into
//! public API for a sibling crate; the feature keeps tokio out of every build that does not
//! ask for it.
//!
//! ```no_run
//! use mqtt_std::tokio::Client;
//! use mqtt_std::{ClientOptions, ConnectOptions, QoS};
//!
//! # async fn example() -> Result<(), mqtt_std::Error> {
//! let (client, mut messages) = Client::new(ClientOptions::new("thermostat-7"))?;
//! client.connect("localhost", 1883, &ConnectOptions::default()).await?;
//! client.subscribe(&[("home/+/setpoint", QoS::AtLeastOnce)]).await?;
//! // Resolves on the PUBACK.
//! client.publish("home/kitchen/temp", b"21.5", QoS::AtLeastOnce, false).await?;
//! while let Some(message) = messages.recv().await {
//!     println!("{} = {:?}", message.topic, message.payload);
//! #   break;
//! }
//! client.disconnect().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Of the [`ClientOptions`], the async client honours the client id, the in-flight window and
//! publish queue, the receive queue depth, the packet and transmit buffer sizes, the CONNACK,
//! PINGRESP and write timeouts, the [`linger`](ClientOptions::linger) of the close after
//! DISCONNECT, the session-lost policy and the packet
//! [`trace`](ClientOptions::trace) hook (called on the driver task), and automatic
//! [`reconnect`](ClientOptions::reconnect) with backoff (with clean session off the session
//! resumes, and `publish` futures pending across the gap complete), and the durable
//! [`session_store`](ClientOptions::session_store) (see [`crate::store`]; a message from
//! [`Messages`] carries its number, [`Message::seq`](crate::Message::seq)).
//!
//! Flow control: `publish` waits (asynchronously) for room in the in-flight window instead of
//! failing with [`Error::WindowFull`]; when the application does not take messages from
//! [`Messages`] (a channel of [`ClientOptions::receive_queue_depth`]), the driver stops reading
//! the socket, and TCP holds the broker back.

mod driver;
mod link;
mod v5;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use ::tokio::sync::{Notify, mpsc, oneshot};
use mqtt_proto::{QoS, SubAckReturnCode};
use mqtt_session::CommandError;

use crate::core::driver::Queued;
use crate::core::{Clock, CloseKind, Common, Family, Fire, Reconnected, Status, Target};
use crate::error::{DisconnectReason, Error};
use crate::options::{ClientOptions, ConnectOptions, Connected, Message, Will};
use crate::tls::TlsConfig;
use crate::ws::WsConfig;

/// The tokio client's completions: oneshot channels.
struct Oneshots;

impl Family for Oneshots {
    type Done<T: Clone + Send + 'static> = oneshot::Sender<Result<T, Error>>;

    fn complete<T: Clone + Send + 'static>(
        done: Self::Done<T>,
        r: Result<T, Error>,
    ) -> Option<Fire> {
        let _ = done.send(r);
        None
    }
}

type Done<T> = oneshot::Sender<Result<T, Error>>;

/// State shared by the handles and the driver, under one short-held lock.
type State = Common<Oneshots>;

struct Shared {
    st: Mutex<State>,
    /// Wakes the driver.
    wake: Notify,
    /// Wakes commands waiting for room (window, transmit buffer, pending requests).
    room: Notify,
    clock: Clock,
    client_id: String,
    /// The bytes of the messages in the channel to [`Messages`] ([`Message::size`]).
    queued_bytes: AtomicUsize,
    /// [`ClientOptions::receive_queue_bytes`].
    queue_budget: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session's clock: milliseconds since the client was created.
    fn now(&self) -> mqtt_session::Instant {
        self.clock.now()
    }

    /// The bytes waiting in the channel to [`Messages`] (the channel's own bound is the
    /// number of messages).
    fn queued(&self) -> Queued {
        Queued {
            messages: 0,
            bytes: self.queued_bytes.load(Ordering::Relaxed),
        }
    }

    fn add_queued(&self, bytes: usize) {
        self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The application took a message of `bytes`: reading goes on once the bytes waiting
    /// drop below the budget.
    fn took_queued(&self, bytes: usize) {
        let before = self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        if before >= self.queue_budget && before.saturating_sub(bytes) < self.queue_budget {
            self.wake.notify_one();
        }
    }
}

/// A connection opened by `connect` (or by an automatic reconnect), handed to the driver.
struct NewLink {
    /// The open link, or why opening it failed (automatic reconnects only).
    link: Result<link::Link, Error>,
    deadline: ::tokio::time::Instant,
    /// `connect`'s answer (none for an automatic reconnect).
    done: Option<Done<Connected>>,
    target: Target,
    /// The reconnect generation of an automatic attempt (stale ones are ignored).
    auto: Option<u64>,
}

struct Inner {
    shared: Arc<Shared>,
    links: mpsc::UnboundedSender<NewLink>,
    options: ClientOptions,
    driver: Mutex<Option<::tokio::task::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_one();
    }
}

/// An async MQTT 3.1.1 client: a cheap, cloneable handle (`Send + Sync`) to one connection and
/// its session, driven by one tokio task. See the [module docs](self).
///
/// Dropping the last handle ends the driver task in the background (it sends DISCONNECT if
/// connected); [`Client::close`] does the same and waits for it.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.shared.client_id)
            .finish_non_exhaustive()
    }
}

/// Received messages, in order: [`Messages::recv`], or a [`Stream`](futures_util::Stream).
/// Ends when the client is closed (or every [`Client`] handle dropped). While it is full the
/// driver stops reading the socket; once it is dropped, later messages are still acknowledged
/// but discarded.
pub struct Messages {
    rx: mpsc::Receiver<Message>,
    /// For the durable store: taking message `n` finishes message `n - 1`.
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("client_id", &self.shared.client_id)
            .finish_non_exhaustive()
    }
}

impl Messages {
    /// The next message; `None` once the client is closed.
    pub async fn recv(&mut self) -> Option<Message> {
        let m = self.rx.recv().await;
        self.took(m)
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Message> {
        let m = self.rx.try_recv().ok();
        self.took(m)
    }

    fn took(&self, m: Option<Message>) -> Option<Message> {
        if let Some(m) = &m {
            self.shared.took_queued(m.size());
            if m.seq.is_some() {
                self.shared.lock().took(m.seq);
            }
        }
        m
    }
}

impl Drop for Messages {
    fn drop(&mut self) {
        // Nobody takes the messages waiting in the channel any more: they no longer hold
        // reading back (later ones are acknowledged and discarded).
        self.shared.queued_bytes.store(0, Ordering::Relaxed);
        self.shared.wake.notify_one();
    }
}

impl futures_util::Stream for Messages {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let m = std::task::ready!(self.rx.poll_recv(cx));
        Poll::Ready(self.took(m))
    }
}

/// Resets the status if a `connect` future is dropped before it hands its link to the driver.
struct ConnectGuard<'a> {
    shared: &'a Shared,
    armed: bool,
}

impl Drop for ConnectGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.shared.lock();
            if st.status == Status::Connecting {
                st.status = Status::Idle;
            }
        }
    }
}

impl Client {
    /// Creates the client and spawns its driver task on the current tokio runtime; nothing is
    /// sent until [`Client::connect`]. Returns the handle and the stream of received messages.
    ///
    /// With a durable session store ([`ClientOptions::session_store`]) the store is opened
    /// here (its messages left unfinished by the last run come first from [`Messages`]), and
    /// it works as with the blocking client (see [`crate::store`]): the driver writes and
    /// `fdatasync`s what the broker's packets changed before it writes to the socket. That
    /// sync runs on the driver task, so a slow disk holds up that task for its duration.
    ///
    /// Fails with [`Error::ThreadSpawn`] outside a tokio runtime, and [`Error::Store`] when
    /// the store cannot be opened.
    pub fn new(options: ClientOptions) -> Result<(Client, Messages), Error> {
        let runtime = ::tokio::runtime::Handle::try_current().map_err(|e| {
            Error::ThreadSpawn(Arc::new(std::io::Error::other(format!(
                "mqtt_std::tokio::Client::new needs a tokio runtime: {e}"
            ))))
        })?;
        // The clock starts before the store is opened (see the blocking client).
        let clock = Clock::new();
        let (common, restored) = Common::open(&options)?;
        let shared = Arc::new(Shared {
            st: Mutex::new(common),
            wake: Notify::new(),
            room: Notify::new(),
            clock,
            client_id: options.client_id.clone(),
            queued_bytes: AtomicUsize::new(0),
            queue_budget: options.receive_queue_bytes,
        });
        let (links_tx, links_rx) = mpsc::unbounded_channel();
        let (messages_tx, messages_rx) = mpsc::channel(options.receive_queue_depth.max(1));
        let handle = runtime.spawn(driver::run(
            shared.clone(),
            links_tx.clone(),
            links_rx,
            messages_tx,
            restored,
            options.clone(),
        ));
        Ok((
            Client {
                inner: Arc::new(Inner {
                    shared: shared.clone(),
                    links: links_tx,
                    options,
                    driver: Mutex::new(Some(handle)),
                }),
            },
            Messages {
                rx: messages_rx,
                shared,
            },
        ))
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The client id given at creation.
    pub fn client_id(&self) -> &str {
        &self.inner.shared.client_id
    }

    /// Whether CONNACK accepted the current connection and it has not ended.
    pub fn is_connected(&self) -> bool {
        self.shared().lock().status == Status::Connected
    }

    /// Sets the user name and optional password sent in every later CONNECT; kept across
    /// connections until changed.
    pub fn set_login(&self, username: &str, password: Option<&[u8]>) {
        self.shared().lock().set_login(username, password);
    }

    /// Removes the user name and password.
    pub fn clear_login(&self) {
        self.shared().lock().login = None;
    }

    /// Sets (or with `None` removes) the will message sent in every later CONNECT. The topic
    /// is checked here.
    pub fn set_will(&self, will: Option<Will>) -> Result<(), Error> {
        self.shared().lock().set_will(will)
    }

    /// Carries MQTT over WebSocket in every later connect (or with `None` over plain TCP
    /// again): [`Client::connect`] speaks `ws://`, [`Client::secure_connect`] `wss://`.
    pub fn set_websocket(&self, websocket: Option<WsConfig>) {
        self.shared().lock().websocket = websocket;
    }

    /// Connects to `host:port` (over TCP, or WebSocket after [`Client::set_websocket`]) and
    /// waits for CONNACK, all within [`ConnectOptions::wait`] ([`Error::Timeout`]). With clean
    /// session off, the session carried over resumes: QoS 1/2 messages in flight are resent.
    ///
    /// Dropping the future before the link is open abandons the attempt; after that, the
    /// connection goes on in the background (see [`Client::is_connected`]).
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        options: &ConnectOptions,
    ) -> Result<Connected, Error> {
        self.connect_to(host, port, None, options).await
    }

    /// Like [`Client::connect`] over TLS (`tokio-rustls`, `ring` provider). The server name
    /// checked is the one `tls` sets, else `host`.
    pub async fn secure_connect(
        &self,
        host: &str,
        port: u16,
        tls: &TlsConfig,
        options: &ConnectOptions,
    ) -> Result<Connected, Error> {
        self.connect_to(host, port, Some(tls), options).await
    }

    async fn connect_to(
        &self,
        host: &str,
        port: u16,
        tls: Option<&TlsConfig>,
        options: &ConnectOptions,
    ) -> Result<Connected, Error> {
        let shared = self.shared();
        let websocket = {
            let mut st = shared.lock();
            match st.status {
                Status::Closed => return Err(Error::Closed),
                Status::Connecting | Status::Connected => return Err(Error::AlreadyConnected),
                Status::Idle => {}
            }
            st.status = Status::Connecting;
            st.websocket.clone()
        };
        let mut guard = ConnectGuard {
            shared,
            armed: true,
        };
        let deadline = ::tokio::time::Instant::now()
            .checked_add(options.wait)
            .unwrap_or_else(far_future);
        let open = link::open(
            host,
            port,
            tls,
            websocket.as_ref(),
            self.inner.options.max_packet_size,
        );
        let link = match ::tokio::time::timeout_at(deadline, open).await {
            Ok(Ok(link)) => link,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Error::Timeout),
        };
        let (done, result) = oneshot::channel();
        let new = NewLink {
            link: Ok(link),
            deadline,
            done: Some(done),
            target: Target {
                host: host.to_owned(),
                port,
                tls: tls.cloned(),
                ws: websocket,
                options: options.clone(),
            },
            auto: None,
        };
        if self.inner.links.send(new).is_err() {
            return Err(Error::Closed);
        }
        guard.armed = false;
        shared.wake.notify_one();
        // The driver enforces the deadline and answers.
        result.await.unwrap_or(Err(Error::Closed))
    }

    /// Runs a session command under the lock, waiting for room while the window, the
    /// transmit buffer or the pending-request table is full; `register` records the completion
    /// before the driver can see the acknowledgement.
    async fn command<R, T>(
        &self,
        mut f: impl FnMut(&mut State, mqtt_session::Instant) -> Result<R, CommandError>,
        register: impl FnOnce(&mut State, R) -> T,
    ) -> Result<T, Error> {
        let shared = self.shared();
        loop {
            let room = shared.room.notified();
            let mut room = std::pin::pin!(room);
            room.as_mut().enable();
            {
                let mut st = shared.lock();
                if st.status == Status::Closed {
                    return Err(Error::Closed);
                }
                match f(&mut st, shared.now()) {
                    Ok(r) => {
                        let t = register(&mut st, r);
                        drop(st);
                        shared.wake.notify_one();
                        return Ok(t);
                    }
                    Err(
                        CommandError::WindowFull
                        | CommandError::TransmitBufferFull { .. }
                        | CommandError::TooManyPendingRequests,
                    ) => {
                        drop(st);
                        shared.wake.notify_one();
                    }
                    Err(e) => return Err(st.command_error(e)),
                }
            }
            room.await;
        }
    }

    /// Publishes a message and resolves when its flow is complete: QoS 0 once written to the
    /// link, QoS 1 on PUBACK, QoS 2 on PUBCOMP. Waits for room in the in-flight window.
    /// A QoS 1/2 message in flight when the connection ends stays in the session (the future
    /// stays pending) and completes on a later connection that resumes the session.
    ///
    /// Fails with [`Error::NotConnected`], or [`Error::Invalid`] for a bad topic.
    pub async fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<(), Error> {
        let done = self
            .command(
                |st, now| st.session.publish(now, topic, payload, qos, retain),
                |st, id| {
                    let (tx, rx) = oneshot::channel();
                    st.register_publish(id, tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// Subscribes to `(filter, maximum QoS)` pairs in one SUBSCRIBE; resolves with one SUBACK
    /// return code per filter, including [`SubAckReturnCode::Failure`].
    pub async fn subscribe(&self, filters: &[(&str, QoS)]) -> Result<Vec<SubAckReturnCode>, Error> {
        let done = self
            .command(
                |st, now| st.session.subscribe(now, filters),
                |st, id| {
                    let (tx, rx) = oneshot::channel();
                    st.register_subscribe(id, filters, tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// Unsubscribes from filters in one UNSUBSCRIBE; resolves on UNSUBACK.
    pub async fn unsubscribe(&self, filters: &[&str]) -> Result<(), Error> {
        let done = self
            .command(
                |st, now| st.session.unsubscribe(now, filters),
                |st, id| {
                    let (tx, rx) = oneshot::channel();
                    st.register_unsubscribe(id, filters, tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// QoS 1/2 publishes not yet complete (in flight or queued), kept across connections.
    pub fn publishes_in_flight(&self) -> usize {
        self.shared().lock().publishes_in_flight()
    }

    /// Calls `f` with the reason each time a connection ends, as the blocking client's
    /// [`set_disconnect_notify`](crate::Client::set_disconnect_notify) does, [`Client::disconnect`]
    /// included. It runs on the driver task, outside the client's lock: keep it short and do
    /// not block in it; it may call the client's non-async methods. Capture a clone of the
    /// [`Client`] in it only if the client should live as long as the callback is set.
    pub fn set_disconnect_notify(&self, f: impl Fn(&DisconnectReason) + Send + Sync + 'static) {
        self.shared().lock().disconnect_notify = Some(Arc::new(f));
    }

    /// Removes the disconnect notification.
    pub fn clear_disconnect_notify(&self) {
        self.shared().lock().disconnect_notify = None;
    }

    /// Calls `f` each time an automatic reconnect is accepted, after the subscriptions went
    /// out again if the broker had lost the session: see the blocking client's
    /// [`set_reconnect_notify`](crate::Client::set_reconnect_notify). Runs on the driver task.
    pub fn set_reconnect_notify(&self, f: impl Fn(&Reconnected) + Send + Sync + 'static) {
        self.shared().lock().reconnect_notify = Some(Arc::new(f));
    }

    /// Removes the reconnect notification.
    pub fn clear_reconnect_notify(&self) {
        self.shared().lock().reconnect_notify = None;
    }

    /// Resolves with the reason when the current connection (or connection attempt) ends; at
    /// once with the last reason when there is none.
    pub async fn disconnected(&self) -> Option<DisconnectReason> {
        let rx = {
            let mut st = self.shared().lock();
            match st.status {
                Status::Idle | Status::Closed => return st.last_reason.clone(),
                Status::Connecting | Status::Connected => {}
            }
            let (tx, rx) = oneshot::channel();
            st.end_waiters.push(tx);
            rx
        };
        rx.await.ok().and_then(Result::ok)
    }

    async fn close_connection(&self, kind: CloseKind) -> Result<(), Error> {
        let rx = {
            let mut st = self.shared().lock();
            match st.status {
                Status::Closed => return Err(Error::Closed),
                Status::Idle if st.reconnecting => {
                    st.cancel_reconnect = true;
                    drop(st);
                    self.shared().wake.notify_one();
                    return Ok(());
                }
                Status::Idle => return Err(Error::NotConnected),
                Status::Connecting | Status::Connected => {}
            }
            st.close_req = Some(kind);
            let (tx, rx) = oneshot::channel();
            st.end_waiters.push(tx);
            rx
        };
        self.shared().wake.notify_one();
        let _ = rx.await;
        Ok(())
    }

    /// Sends DISCONNECT and closes the connection; resolves once it is closed: gracefully,
    /// after the broker closed its side or the [`linger`](ClientOptions::linger) passed (see
    /// there). The broker discards the will. QoS 1/2 messages in flight stay in the session for the next
    /// connection with clean session off. A scheduled automatic reconnect is cancelled.
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.close_connection(CloseKind::Disconnect(None)).await
    }

    /// Closes the connection without DISCONNECT, as a lost link would: the broker publishes
    /// the will. The session is kept.
    pub async fn drop_connection(&self) -> Result<(), Error> {
        self.close_connection(CloseKind::Drop).await
    }

    /// Ends the client: DISCONNECT if connected (and the graceful close, within the
    /// [`linger`](ClientOptions::linger)), then the driver task stops; pending
    /// operations fail with [`Error::Closed`], [`Messages`] ends, later calls fail with
    /// [`Error::Closed`].
    pub async fn close(&self) {
        if self.is_connected() {
            let _ = self.disconnect().await;
        }
        self.shared().lock().shutdown = true;
        self.shared().wake.notify_one();
        let handle = self
            .inner
            .driver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle {
            let _ = h.await;
        }
    }
}

/// A deadline for "no limit" that does not overflow.
fn far_future() -> ::tokio::time::Instant {
    ::tokio::time::Instant::now() + std::time::Duration::from_secs(100 * 365 * 24 * 3600)
}
