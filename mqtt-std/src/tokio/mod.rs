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

mod client;
mod driver;
mod link;
mod v5;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use ::tokio::sync::{Notify, mpsc, oneshot};

use crate::core::driver::Queued;
use crate::core::{Clock, Common, Family, Fire, Status, Target};
use crate::error::Error;
use crate::options::{Connected, Message};
// Named in the module docs.
#[cfg(doc)]
use crate::{ClientOptions, ConnectOptions, DisconnectReason, TlsConfig, Will, WsConfig};

pub use client::Client;

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

/// A deadline for "no limit" that does not overflow.
fn far_future() -> ::tokio::time::Instant {
    ::tokio::time::Instant::now() + std::time::Duration::from_secs(100 * 365 * 24 * 3600)
}
