//! The blocking client: a cloneable handle over state shared with the IO thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use mqtt_proto::{PacketId, QoS, SubAckReturnCode};
use mqtt_session::CommandError;

use super::pending::{Pending, Slot};
use super::shared::{ConnectRequest, Shared, State, Turn};
use crate::core::{Clock, CloseKind, Common, Reconnected, Status, Target, deadline_after};
use crate::error::{DisconnectReason, Error};
use crate::options::{ClientOptions, ConnectOptions, Connected, Message, Will};
use crate::store::FileStore;
use crate::tls::TlsConfig;
use crate::ws::WsConfig;

struct Inner {
    shared: Arc<Shared>,
    io: Mutex<Option<JoinHandle<()>>>,
    write_timeout: Duration,
    linger: Duration,
}

impl Inner {
    fn close(&self) {
        {
            let mut st = self.shared.lock();
            if st.c.status == Status::Closed && st.c.shutdown {
                return;
            }
            st.c.shutdown = true;
            self.shared.wake_io(&mut st);
        }
        let handle = self
            .io
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle {
            // Never join from the IO thread itself (a callback closing the client).
            if h.thread().id() != thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

/// A blocking MQTT 3.1.1 client: a cheap, cloneable handle (`Send + Sync`) to one connection
/// and its session, driven by one IO thread. See the [crate docs](crate) for the NetX Duo
/// service each method corresponds to, and for the threading design.
///
/// Dropping the last handle (or [`Client::close`]) ends the IO thread.
///
/// Callbacks (notifications, [`Pending::on_complete`], the connect callback) run on the IO
/// thread. They may call any non-blocking method, and [`Client::disconnect`],
/// [`Client::drop_connection`] and [`Client::close`], which then return without waiting; they
/// must not wait for the client ([`Pending::wait`], [`Client::recv`], [`Client::connect`]):
/// that would wait for the very thread running them. A callback should capture a
/// [`WeakClient`] ([`Client::downgrade`]), not a `Client`: a `Client` it holds keeps the
/// client and its connection alive after the application dropped its own handles.
///
/// ```no_run
/// use mqtt_std::{Client, ClientOptions, ConnectOptions, QoS};
///
/// # fn main() -> Result<(), mqtt_std::Error> {
/// let client = Client::new(ClientOptions::new("example"))?;
/// client.connect("localhost", 1883, &ConnectOptions::default())?;
/// client.subscribe(&[("greetings/#", QoS::AtLeastOnce)])?.wait()?;
/// client.publish("greetings/world", b"hello", QoS::AtLeastOnce, false)?.wait()?;
/// let message = client.recv()?;
/// println!("{} {:?}", message.topic, message.payload);
/// client.disconnect()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A handle to a [`Client`] that does not keep it alive ([`Client::downgrade`]): what a
/// callback should capture. Once the application dropped its last [`Client`], the IO thread
/// ends, the connection closes, and [`WeakClient::upgrade`] returns `None`.
///
/// ```no_run
/// use mqtt_std::{Client, ClientOptions};
///
/// # fn main() -> Result<(), mqtt_std::Error> {
/// let client = Client::new(ClientOptions::new("sensor-3"))?;
/// let weak = client.downgrade();
/// client.set_receive_notify(move |_queued| {
///     if let Some(c) = weak.upgrade() {
///         while let Some(m) = c.try_recv() {
///             println!("{}: {} bytes", m.topic, m.payload.len());
///         }
///     }
/// });
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WeakClient {
    inner: std::sync::Weak<Inner>,
}

impl WeakClient {
    /// The client, if a [`Client`] handle still exists.
    pub fn upgrade(&self) -> Option<Client> {
        self.inner.upgrade().map(|inner| Client { inner })
    }
}

impl std::fmt::Debug for WeakClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakClient").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.shared.client_id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Creates the client and starts its IO thread (`nxd_mqtt_client_create`). Nothing is
    /// sent until [`Client::connect`].
    pub fn new(options: ClientOptions) -> Result<Self, Error> {
        // The session's clock starts before a durable store is opened, which takes that
        // moment for the session's epoch (deadlines of expiring messages are kept in
        // wall-clock time across restarts).
        let clock = Clock::new();
        let (common, restored) = Common::open(&options)?;
        let shared = Arc::new(Shared {
            st: Mutex::new(State {
                c: common,
                conn_gen: 0,
                inbox: VecDeque::new(),
                inbox_bytes: 0,
                inbox_end: None,
                read_sock: None,
                bg_reading: false,
                app_reading: false,
                app_wants_read: false,
                app_read_at: None,
                app_poller: None,
                app_kicked: false,
                connect_req: None,
                wake: false,
                fires: Vec::new(),
                io_until: None,
                queued_bytes: restored.iter().map(Message::size).sum(),
                messages: restored.into(),
                depth: options.receive_queue_depth,
                tx_drained: 0,
                tx_waiters: 0,
                receive_notify: None,
            }),
            io_cv: Condvar::new(),
            app_cv: Condvar::new(),
            reader_cv: Condvar::new(),
            io_sleeping: AtomicBool::new(false),
            app_waiters: AtomicUsize::new(0),
            clock,
            client_id: options.client_id.clone(),
            io: std::sync::OnceLock::new(),
            io_thread: std::sync::OnceLock::new(),
            kick: super::driver::read::Kick::new(),
        });
        let write_timeout = options.write_timeout;
        let linger = options.linger;
        let io_shared = shared.clone();
        let handle = thread::Builder::new()
            .name(format!("mqtt-io {}", options.client_id))
            .spawn(move || super::driver::run(io_shared, options))
            .map_err(|e| Error::ThreadSpawn(Arc::new(e)))?;
        Ok(Client {
            inner: Arc::new(Inner {
                shared,
                io: Mutex::new(Some(handle)),
                write_timeout,
                linger,
            }),
        })
    }

    fn on_io_thread(&self) -> bool {
        self.inner
            .io
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|h| h.thread().id() == thread::current().id())
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The handle of an operation in progress on `slot`.
    pub(super) fn pending<T: Clone + Send + 'static>(
        &self,
        slot: Arc<Slot<T>>,
        packet_id: Option<PacketId>,
    ) -> Pending<T> {
        Pending::new(slot, packet_id, Arc::downgrade(&self.inner.shared))
    }

    /// A handle that does not keep the client alive, for callbacks: a callback that captures
    /// a [`Client`] keeps the client, its threads and its connection alive after the
    /// application dropped its own handles (until [`Client::close`]); one that captures a
    /// [`WeakClient`] does not.
    pub fn downgrade(&self) -> WeakClient {
        WeakClient {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The client id given at creation.
    pub fn client_id(&self) -> &str {
        &self.inner.shared.client_id
    }

    /// Whether CONNACK accepted the current connection and it has not ended.
    pub fn is_connected(&self) -> bool {
        self.shared().lock().c.status == Status::Connected
    }

    /// Blocks until a connection is up (made by [`Client::connect_nonblocking`] or an automatic
    /// reconnect), or `timeout` passes ([`Error::Timeout`]). Fails at once with
    /// [`Error::NotConnected`] when no connection is being made or scheduled.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        let sh = self.shared();
        let deadline = deadline_after(timeout);
        let mut st = sh.lock();
        loop {
            match st.c.status {
                Status::Connected => return Ok(()),
                Status::Closed => return Err(Error::Closed),
                Status::Idle if !st.c.reconnecting && st.connect_req.is_none() => {
                    return Err(Error::NotConnected);
                }
                _ => {}
            }
            st = sh
                .wait_app(st, Some(deadline))
                .map_err(|_| Error::Timeout)?;
        }
    }

    /// Sets the user name and optional password sent in every later CONNECT
    /// (`nxd_mqtt_client_login_set`). They stay across reconnects until changed.
    pub fn set_login(&self, username: &str, password: Option<&[u8]>) {
        self.shared().lock().c.set_login(username, password);
    }

    /// Removes the user name and password.
    pub fn clear_login(&self) {
        self.shared().lock().c.login = None;
    }

    /// Sets (or with `None` removes) the will message sent in every later CONNECT
    /// (`nxd_mqtt_client_will_message_set`). The topic is checked here.
    pub fn set_will(&self, will: Option<Will>) -> Result<(), Error> {
        self.shared().lock().c.set_will(will)
    }

    /// Carries MQTT over WebSocket in every later connect (`nxd_mqtt_client_websocket_set`),
    /// or with `None` over plain TCP again: [`Client::connect`] then speaks `ws://` and
    /// [`Client::secure_connect`] `wss://`, to the [`WsConfig`]'s path with its headers and the
    /// sub-protocol `mqtt` [MQTT-6.0.0-3].
    pub fn set_websocket(&self, websocket: Option<WsConfig>) {
        self.shared().lock().c.websocket = websocket;
    }

    fn start_connect(
        &self,
        host: &str,
        port: u16,
        tls: Option<&TlsConfig>,
        options: &ConnectOptions,
    ) -> Result<Arc<Slot<Connected>>, Error> {
        let sh = self.shared();
        let mut st = sh.lock();
        match st.c.status {
            Status::Closed => return Err(Error::Closed),
            Status::Connecting | Status::Connected => return Err(Error::AlreadyConnected),
            Status::Idle => {}
        }
        if st.connect_req.is_some() {
            return Err(Error::AlreadyConnected);
        }
        let slot = Slot::new();
        st.c.status = Status::Connecting;
        st.connect_req = Some(ConnectRequest {
            target: Target {
                host: host.to_owned(),
                port,
                tls: tls.cloned(),
                ws: st.c.websocket.clone(),
                options: options.clone(),
            },
            slot: Some(slot.clone()),
        });
        sh.wake_io(&mut st);
        Ok(slot)
    }

    fn wait_connect(slot: &Slot<Connected>, options: &ConnectOptions) -> Result<Connected, Error> {
        // The IO thread enforces `options.wait` itself; the margin lets its answer arrive.
        slot.wait_until(Some(deadline_after(
            options.wait.saturating_add(Duration::from_secs(2)),
        )))
    }

    /// Connects to `host:port` over TCP and waits for CONNACK (`nxd_mqtt_client_connect`,
    /// blocking). Returns [`Error::Refused`] with the broker's return code, or the failure
    /// (resolution, TCP, timeout after [`ConnectOptions::wait`]).
    pub fn connect(
        &self,
        host: &str,
        port: u16,
        options: &ConnectOptions,
    ) -> Result<Connected, Error> {
        let slot = self.start_connect(host, port, None, options)?;
        Self::wait_connect(&slot, options)
    }

    /// Like [`Client::connect`] over TLS (`nxd_mqtt_client_secure_connect`); `tls` is the
    /// TLS setup hook's result ([`TlsConfig::builder`]). The server name checked is the one
    /// the configuration sets, else `host`.
    pub fn secure_connect(
        &self,
        host: &str,
        port: u16,
        tls: &TlsConfig,
        options: &ConnectOptions,
    ) -> Result<Connected, Error> {
        let slot = self.start_connect(host, port, Some(tls), options)?;
        Self::wait_connect(&slot, options)
    }

    /// Starts connecting and returns at once (`nxd_mqtt_client_connect` with `NX_NO_WAIT`);
    /// `on_complete` runs on the IO thread with the outcome. `tls` `None` connects over plain
    /// TCP.
    pub fn connect_nonblocking(
        &self,
        host: &str,
        port: u16,
        tls: Option<&TlsConfig>,
        options: &ConnectOptions,
        on_complete: impl FnOnce(Result<Connected, Error>) + Send + 'static,
    ) -> Result<(), Error> {
        let slot = self.start_connect(host, port, tls, options)?;
        self.pending(slot, None).on_complete(on_complete);
        Ok(())
    }

    /// Runs a session command under the lock; waits for room when the transmit buffer is
    /// full. Returns the guard so that the caller registers its completion before the IO
    /// thread can see the acknowledgement.
    pub(super) fn command<R>(
        &self,
        mut f: impl FnMut(&mut State, mqtt_session::Instant) -> Result<R, CommandError>,
    ) -> Result<(R, Turn<'_>), Error> {
        let sh = self.shared();
        let deadline = deadline_after(self.inner.write_timeout);
        let mut st = sh.lock();
        loop {
            if st.c.status == Status::Closed || st.c.shutdown {
                return Err(Error::Closed);
            }
            let now = sh.now();
            match f(&mut st, now) {
                Ok(r) => {
                    // Written by this thread once the guard is dropped, when the IO side is
                    // free (else by whoever holds it).
                    st.wake = true;
                    return Ok((r, Turn::new(sh, st)));
                }
                Err(CommandError::TransmitBufferFull { .. }) => {
                    let seen = st.tx_drained;
                    sh.wake_io(&mut st);
                    st.tx_waiters += 1;
                    while st.tx_drained == seen && st.c.status != Status::Closed {
                        match sh.wait_app(st, Some(deadline)) {
                            Ok(g) => st = g,
                            Err(mut g) => {
                                g.tx_waiters -= 1;
                                return Err(Error::Timeout);
                            }
                        }
                    }
                    st.tx_waiters -= 1;
                }
                Err(e) => return Err(st.c.command_error(e)),
            }
        }
    }

    /// Publishes a message (`nxd_mqtt_client_publish`) and returns without waiting for the
    /// acknowledgement: the [`Pending`] completes when the flow is done (QoS 0: written to the
    /// socket; QoS 1: PUBACK; QoS 2: PUBCOMP). Safe to call from several threads at once.
    ///
    /// Fails with [`Error::NotConnected`], [`Error::WindowFull`] (the in-flight window is full:
    /// wait for an earlier publish), or [`Error::Invalid`] for a bad topic.
    pub fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Result<Pending<()>, Error> {
        let (id, mut st) =
            self.command(|st, now| st.c.session.publish(now, topic, payload, qos, retain))?;
        let slot = Slot::new();
        st.c.register_publish(id, slot.clone());
        Ok(self.pending(slot, id))
    }

    /// Subscribes to one or more `(filter, maximum QoS)` in one SUBSCRIBE
    /// (`nxd_mqtt_client_subscribe`). The [`Pending`] gives one SUBACK return code per filter,
    /// including [`SubAckReturnCode::Failure`] (0x80).
    pub fn subscribe(
        &self,
        filters: &[(&str, QoS)],
    ) -> Result<Pending<Vec<SubAckReturnCode>>, Error> {
        let (id, mut st) = self.command(|st, now| st.c.session.subscribe(now, filters))?;
        let slot = Slot::new();
        st.c.register_subscribe(id, filters, slot.clone());
        Ok(self.pending(slot, Some(id)))
    }

    /// Unsubscribes from one or more filters in one UNSUBSCRIBE
    /// (`nxd_mqtt_client_unsubscribe`); the [`Pending`] completes on UNSUBACK.
    pub fn unsubscribe(&self, filters: &[&str]) -> Result<Pending<()>, Error> {
        let (id, mut st) = self.command(|st, now| st.c.session.unsubscribe(now, filters))?;
        let slot = Slot::new();
        st.c.register_unsubscribe(id, filters, slot.clone());
        Ok(self.pending(slot, Some(id)))
    }

    /// QoS 1/2 publishes not yet complete (in flight or queued), kept in the session across
    /// disconnects.
    pub fn publishes_in_flight(&self) -> usize {
        let st = self.shared().lock();
        st.c.publishes_in_flight()
    }

    /// With a durable session store
    /// ([`ClientOptions::session_store`](crate::ClientOptions::session_store)): how many QoS
    /// 1/2 publishes it has ever accepted, across restarts. Publish number `n` was accepted
    /// (and will be delivered) exactly when this reached `n`, so a publisher that is killed
    /// can tell where to go on from. `None` without a durable store.
    pub fn accepted_publishes(&self) -> Option<u64> {
        let st = self.shared().lock();
        st.c.session
            .store()
            .file()
            .map(FileStore::accepted_publishes)
    }

    /// With a durable session store: writes and `fsync`s everything recorded so far (the
    /// client does it before every write to the socket anyway). A no-op without one.
    pub fn sync_session_store(&self) -> Result<(), Error> {
        self.shared().lock().c.sync_store()
    }

    /// Calls `f` with the number of queued messages each time messages are added to the
    /// receive queue (`nxd_mqtt_client_receive_notify_set`). It runs on the IO thread: keep it
    /// short; it may call the client (for example [`Client::try_recv`]).
    pub fn set_receive_notify(&self, f: impl Fn(usize) + Send + Sync + 'static) {
        self.shared().lock().receive_notify = Some(Arc::new(f));
    }

    /// Removes the receive notification.
    pub fn clear_receive_notify(&self) {
        self.shared().lock().receive_notify = None;
    }

    /// Calls `f` with the reason each time a connection ends
    /// (`nxd_mqtt_client_disconnect_notify_set`), including [`Client::disconnect`]. It runs on
    /// the IO thread.
    pub fn set_disconnect_notify(&self, f: impl Fn(&DisconnectReason) + Send + Sync + 'static) {
        self.shared().lock().c.disconnect_notify = Some(Arc::new(f));
    }

    /// Removes the disconnect notification.
    pub fn clear_disconnect_notify(&self) {
        self.shared().lock().c.disconnect_notify = None;
    }

    /// Calls `f` each time an automatic reconnect
    /// ([`ClientOptions::reconnect`](crate::ClientOptions::reconnect)) is accepted. When the
    /// broker had lost the session (session present 0: it restarted, or clean session is
    /// on), the client has already sent the subscriptions again (every filter an earlier
    /// SUBACK granted and no UNSUBSCRIBE took back) and [`Reconnected::resubscribed`] lists
    /// them. Runs on the IO thread, as the other notifications do.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_std::{Client, ClientOptions, Reconnect};
    ///
    /// # fn main() -> Result<(), mqtt_std::Error> {
    /// let client = Client::new(ClientOptions::new("logger").reconnect(Some(Reconnect {
    ///     initial: Duration::from_millis(500),
    ///     max: Duration::from_secs(30),
    /// })))?;
    /// client.set_reconnect_notify(|r| {
    ///     eprintln!("back (session present: {}), {} filters restored", r.session_present, r.resubscribed.len());
    /// });
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_reconnect_notify(&self, f: impl Fn(&Reconnected) + Send + Sync + 'static) {
        self.shared().lock().c.reconnect_notify = Some(Arc::new(f));
    }

    /// Removes the reconnect notification.
    pub fn clear_reconnect_notify(&self) {
        self.shared().lock().c.reconnect_notify = None;
    }

    pub(super) fn close_connection(&self, kind: CloseKind) -> Result<(), Error> {
        let sh = self.shared();
        let mut st = sh.lock();
        match st.c.status {
            Status::Closed => return Err(Error::Closed),
            Status::Idle => {
                if st.c.reconnecting {
                    st.c.cancel_reconnect = true;
                    sh.wake_io(&mut st);
                    return Ok(());
                }
                return Err(Error::NotConnected);
            }
            Status::Connecting | Status::Connected => {}
        }
        st.c.close_req = Some(kind);
        sh.wake_io(&mut st);
        if self.on_io_thread() {
            // Called from a callback: the IO thread closes once the callback returns.
            return Ok(());
        }
        // The DISCONNECT write, then the linger of the close, then a margin.
        let deadline = deadline_after(
            self.inner
                .write_timeout
                .saturating_add(self.inner.linger)
                .saturating_add(Duration::from_secs(1)),
        );
        while matches!(st.c.status, Status::Connecting | Status::Connected) {
            st = sh
                .wait_app(st, Some(deadline))
                .map_err(|_| Error::Timeout)?;
        }
        Ok(())
    }

    /// Sends DISCONNECT and closes the connection (`nxd_mqtt_client_disconnect`); returns once
    /// it is closed: gracefully, after the broker closed its side or the
    /// [`linger`](ClientOptions::linger) passed (see there). The broker discards the will.
    /// QoS 1/2 messages in flight stay in the session, to be sent again by the next
    /// [`Client::connect`] with clean session off. A scheduled automatic reconnect is
    /// cancelled. [`Error::Timeout`] if the connection is still not closed after the write
    /// timeout, the linger and one second more.
    pub fn disconnect(&self) -> Result<(), Error> {
        self.close_connection(CloseKind::Disconnect(None))
    }

    /// Closes the network connection without DISCONNECT, as a crash or a lost link would: the
    /// broker publishes the will. The session is kept, as with [`Client::disconnect`].
    pub fn drop_connection(&self) -> Result<(), Error> {
        self.close_connection(CloseKind::Drop)
    }

    /// Ends the client (`nxd_mqtt_client_delete`): sends DISCONNECT if connected (and closes
    /// gracefully, within the [`linger`](ClientOptions::linger)), stops the IO thread and
    /// releases everything; every handle's later calls fail with
    /// [`Error::Closed`], and pending operations complete with [`Error::Closed`]. Dropping the
    /// last handle does the same.
    pub fn close(&self) {
        if let Some(f) = self.shared().lock().c.session.store().file() {
            f.finish_taken();
        }
        if self.is_connected() && !self.on_io_thread() {
            let _ = self.disconnect();
        }
        self.inner.close();
    }
}
