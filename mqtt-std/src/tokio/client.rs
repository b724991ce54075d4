//! [`Client`]: the handle, its connect, its commands (3.1.1 and the parts they share with
//! 5.0) and its close; the 5.0 commands are in [`super::v5`].

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};

use ::tokio::sync::{Notify, mpsc, oneshot};
use mqtt_proto::{QoS, SubAckReturnCode};
use mqtt_session::CommandError;

use super::{Messages, NewLink, Shared, State, driver, far_future, link};
use crate::core::{Clock, CloseKind, Common, Reconnected, Status, Target};
use crate::error::{DisconnectReason, Error};
use crate::options::{ClientOptions, ConnectOptions, Connected, Will};
use crate::tls::TlsConfig;
use crate::ws::WsConfig;

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
/// its session, driven by one tokio task. See the [module docs](super).
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

    pub(super) fn shared(&self) -> &Shared {
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
    pub(super) async fn command<R, T>(
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

    pub(super) async fn close_connection(&self, kind: CloseKind) -> Result<(), Error> {
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
