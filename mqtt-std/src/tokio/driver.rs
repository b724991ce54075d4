//! The driver task: moves bytes and time between the link and the session, and nothing else;
//! the protocol work is the driver core's ([`crate::core`]).
//!
//! It sleeps in one `select!` until: the application wakes it (a command, a close, a new
//! link), the link has bytes (only while the received-message channel has room), the channel
//! has room again for held-back messages, or the core's next deadline. Then, under the lock,
//! it steps the core; without the lock, it writes and closes.

use std::sync::Arc;

use ::tokio::sync::mpsc;
use ::tokio::time::{Instant as TokioInstant, sleep_until, timeout};

use super::link::Link;
use super::{NewLink, Oneshots, Shared, Status};
use crate::core::Target;
use crate::core::driver::{Core, LinkState};
use crate::error::{DisconnectReason, Error};
use crate::options::{ClientOptions, Message};

/// How long closing a link may take (close frame, close_notify) before it is just dropped.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

impl LinkState for Link {}

struct Driver {
    shared: Arc<Shared>,
    core: Core<Oneshots, Link>,
    /// The application's end of received messages; [`Core::received`] holds back what it
    /// has no room for (reading pauses while any wait).
    messages: mpsc::Sender<Message>,
    /// For automatic reconnects, which send their links like `connect` does.
    links: mpsc::UnboundedSender<NewLink>,
}

/// What ended the driver's sleep.
enum Woke {
    /// The application, a timer, or room in the message channel: just run a round.
    App,
    /// A new link from `connect` or a reconnect (`None`: the channel closed).
    Link(Option<Box<NewLink>>),
    /// The link read bytes, or ended.
    Read(Result<(), DisconnectReason>),
}

/// Reads from the link, or waits forever when there is none.
async fn read(link: &mut Option<Link>, buf: &mut Vec<u8>) -> Result<(), DisconnectReason> {
    match link {
        Some(l) => l.read(buf).await,
        None => std::future::pending().await,
    }
}

pub(super) async fn run(
    shared: Arc<Shared>,
    links_tx: mpsc::UnboundedSender<NewLink>,
    mut links: mpsc::UnboundedReceiver<NewLink>,
    messages: mpsc::Sender<Message>,
    restored: Vec<Message>,
    options: ClientOptions,
) {
    let clock = shared.clock;
    let mut d = Driver {
        shared,
        core: Core::new(options, clock, restored),
        messages,
        links: links_tx,
    };
    d.deliver();
    loop {
        let (deadline, shutdown) = {
            let st = d.shared.lock();
            (d.core.deadline(&st), st.shutdown)
        };
        if shutdown {
            d.shutdown().await;
            return;
        }
        let deadline = deadline.map(TokioInstant::from_std);
        let core = &mut d.core;
        let queued = d.shared.queued();
        let can_read = core.link.is_some()
            && !core.has_received()
            && !core.queue_full(queued, 1)
            && core.input.is_empty();
        let before = core.input.len();
        if !core.more_input() {
            let woke = ::tokio::select! {
                biased;
                () = d.shared.wake.notified() => Woke::App,
                new = links.recv() => Woke::Link(new.map(Box::new)),
                r = read(&mut core.link, &mut core.input), if can_read => Woke::Read(r),
                permit = d.messages.reserve(), if core.has_received() => {
                    if let (Ok(permit), Some(m)) = (permit, core.take_received()) {
                        d.shared.add_queued(m.size());
                        permit.send(m);
                    }
                    Woke::App
                }
                () = sleep_until(deadline.unwrap_or_else(TokioInstant::now)), if deadline.is_some() => Woke::App,
            };
            match woke {
                Woke::App => {}
                Woke::Read(Ok(())) => d.core.trace_received(before),
                Woke::Link(Some(new)) => d.new_link(*new),
                // Cannot happen while the driver holds a sender; end if it does.
                Woke::Link(None) => d.shared.lock().shutdown = true,
                Woke::Read(Err(reason)) => {
                    let shared = d.shared.clone();
                    d.core.link_lost(&mut shared.lock(), reason, None);
                }
            }
        }
        d.round().await;
    }
}

impl Driver {
    /// A link from `connect` or an automatic reconnect: the transport is up, queue CONNECT.
    fn new_link(&mut self, new: NewLink) {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        if let Some(generation) = new.auto {
            // A reconnect that was cancelled, or overtaken by the application's own connect.
            if generation != self.core.generation
                || self.core.link.is_some()
                || st.status != Status::Connecting
            {
                if let Ok(link) = new.link {
                    self.core.closed.push(link);
                }
                return;
            }
        }
        let link = match new.link {
            Ok(link) => link,
            // An automatic reconnect could not open the link: try again later.
            Err(e) => return self.core.open_failed(&mut st, e, new.done, true),
        };
        if st.status == Status::Closed || self.core.link.is_some() {
            if let Some(done) = new.done {
                let _ = done.send(Err(if st.status == Status::Closed {
                    Error::Closed
                } else {
                    Error::AlreadyConnected
                }));
            }
            self.core.closed.push(link);
            return;
        }
        let deadline = new.deadline.into_std();
        self.core
            .begin(&mut st, link, new.target, new.done, deadline);
    }

    /// One round after waking: the core's step, then the write and the close.
    async fn round(&mut self) {
        let shared = self.shared.clone();
        let upto = {
            let mut st = shared.lock();
            self.core.cancel_reconnect(&mut st);
            if let Some(target) = self.core.due_reconnect(&mut st) {
                self.spawn_reconnect(target);
            }
            // Messages held back stop input, and so do the bytes in the channel.
            self.core.step(&mut st, shared.queued(), 1);
            self.core.before_write(&mut st)
        };
        self.deliver();

        // Write and close without the lock.
        let mut written = Ok(());
        let write_timeout = self.core.options().write_timeout;
        if let (false, Some(link)) = (self.core.out.is_empty(), &mut self.core.link) {
            let write = link.write(self.core.out.bytes());
            written = match timeout(write_timeout, write).await {
                Ok(r) => r,
                Err(_) => Err(DisconnectReason::Io(std::io::ErrorKind::TimedOut)),
            };
        }
        self.core.after_write(&mut shared.lock(), written, upto);
        if let (Some(linger), Some(link)) = (self.core.closing_linger(), &mut self.core.link) {
            // DISCONNECT is out: half-close and drain before the link is given up.
            link.finish(linger).await;
        }
        self.core.finish_closing(&mut shared.lock());
        self.settle().await;
    }

    /// After a round, without the lock: wake the commands waiting for room or for the end of
    /// the connection, run the callbacks, close the links let go of.
    async fn settle(&mut self) {
        let wake = self.core.take_wake();
        if wake.room || wake.status {
            // Commands waiting for room go on, or find out that the connection is gone.
            self.shared.room.notify_waiters();
        }
        for f in std::mem::take(&mut self.core.fires) {
            f.run();
        }
        for mut link in std::mem::take(&mut self.core.closed) {
            let _ = timeout(CLOSE_GRACE, link.close()).await;
        }
    }

    /// Hands held-back messages to the channel while it has room.
    fn deliver(&mut self) {
        while let Some(m) = self.core.take_received() {
            let size = m.size();
            match self.messages.try_send(m) {
                Ok(()) => self.shared.add_queued(size),
                Err(mpsc::error::TrySendError::Full(m)) => {
                    self.core.untake_received(m);
                    return;
                }
                // Nobody listens: drop them (the application dropped `Messages`).
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    /// Opens a link to `target` on a task of its own; it comes back as a [`NewLink`].
    fn spawn_reconnect(&mut self, target: Target) {
        let links = self.links.clone();
        let generation = self.core.generation;
        let max_packet_size = self.core.options().max_packet_size;
        let deadline = TokioInstant::now()
            .checked_add(target.options.wait)
            .unwrap_or_else(super::far_future);
        ::tokio::spawn(async move {
            let open = super::link::open(
                &target.host,
                target.port,
                target.tls.as_ref(),
                target.ws.as_ref(),
                max_packet_size,
            );
            let link = match ::tokio::time::timeout_at(deadline, open).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout),
            };
            let _ = links.send(NewLink {
                link,
                deadline,
                done: None,
                target,
                auto: Some(generation),
            });
        });
    }

    async fn shutdown(&mut self) {
        let shared = self.shared.clone();
        // Still connected (the last handle was dropped): say goodbye properly.
        let write = self.core.shutdown_begin(&mut shared.lock());
        let linger = self.core.options().linger;
        if let (true, Some(link)) = (write, &mut self.core.link) {
            if let Ok(Ok(())) = timeout(CLOSE_GRACE, link.write(self.core.out.bytes())).await {
                link.finish(linger).await;
            }
        }
        self.core.shutdown_end(&mut shared.lock());
        self.settle().await;
    }
}
