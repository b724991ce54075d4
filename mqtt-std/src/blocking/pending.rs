//! Completion handles: an operation runs on the IO thread; the caller waits for it, polls it,
//! or leaves a callback.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use mqtt_proto::PacketId;

use super::driver::read::{AppRead, read_instead_of_waiting};
use super::shared::{Shared, State};
use crate::core::{Fire, deadline_after};
use crate::error::Error;

type Callback<T> = Box<dyn FnOnce(Result<T, Error>) + Send>;

struct SlotState<T> {
    result: Option<Result<T, Error>>,
    callback: Option<Callback<T>>,
    /// Threads waiting on `cv` (a notify is a system call even with nobody waiting).
    waiters: usize,
}

/// The shared end of a completion: the IO thread completes it once.
pub(crate) struct Slot<T> {
    state: Mutex<SlotState<T>>,
    cv: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking callback must not wedge every later call: the data is a plain Option.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Clone + Send + 'static> Slot<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                result: None,
                callback: None,
                waiters: 0,
            }),
            cv: Condvar::new(),
        })
    }

    /// Records the result (first one wins). Returns the callback to run, if one was set.
    pub(crate) fn complete(&self, r: Result<T, Error>) -> Option<Fire> {
        let mut s = lock(&self.state);
        if s.result.is_some() {
            return None;
        }
        let fire = s.callback.take().map(|cb| {
            let r2 = r.clone();
            Fire::new(move || cb(r2))
        });
        s.result = Some(r);
        if s.waiters > 0 {
            self.cv.notify_all();
        }
        fire
    }

    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> Result<T, Error> {
        let mut s = lock(&self.state);
        loop {
            if let Some(r) = &s.result {
                return r.clone();
            }
            let left = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout);
                    }
                    Some(left)
                }
            };
            s.waiters += 1;
            s = match left {
                None => self.cv.wait(s).unwrap_or_else(PoisonError::into_inner),
                Some(left) => {
                    self.cv
                        .wait_timeout(s, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            s.waiters -= 1;
        }
    }
}

/// An operation in progress on the IO thread: a publish (`T = ()`), a subscribe
/// (`T = Vec<SubAckReturnCode>`), an unsubscribe (`T = ()`).
///
/// Wait for it ([`Pending::wait`], [`Pending::wait_timeout`]), look ([`Pending::result`]), or
/// leave a callback ([`Pending::on_complete`]). Dropping it does not cancel the operation.
///
/// A publish completes when its flow is done: QoS 0 once written to the socket, QoS 1 on
/// PUBACK, QoS 2 on PUBCOMP. When the connection ends first, a QoS 1/2 publish stays pending
/// only while an automatic reconnect ([`ClientOptions::reconnect`](crate::ClientOptions::reconnect))
/// will follow, and completes on a later connection; otherwise it completes at once with
/// [`Error::PublishInterrupted`] (the message stays in the session and goes out again on the
/// next connect), so that nobody waits for ever. When its session ends (see
/// [`SessionLostPolicy`](mqtt_session::SessionLostPolicy)) it completes with
/// [`Error::PublishDropped`] or [`Error::AcceptedSessionEnded`], or follows the message
/// published again.
pub struct Pending<T> {
    slot: Arc<Slot<T>>,
    packet_id: Option<PacketId>,
    /// The client's state, for a wait that reads the connection itself (weak: a `Pending`
    /// does not keep the client alive).
    shared: Weak<Shared>,
}

impl<T> fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("packet_id", &self.packet_id)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static> Pending<T> {
    pub(crate) fn new(
        slot: Arc<Slot<T>>,
        packet_id: Option<PacketId>,
        shared: Weak<Shared>,
    ) -> Self {
        Pending {
            slot,
            packet_id,
            shared,
        }
    }

    /// Waits until the operation completes or `deadline` passes: reading the connection on
    /// this thread while it may ([`read_instead_of_waiting`]), else on the condition variable.
    fn wait_until(&self, deadline: Option<Instant>) -> Result<T, Error> {
        if let Some(sh) = self.shared.upgrade() {
            let slot = &self.slot;
            let done = |_: &State| lock(&slot.state).result.is_some();
            loop {
                if let Some(r) = &lock(&slot.state).result {
                    return r.clone();
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Error::Timeout);
                }
                let (st, how) = read_instead_of_waiting(&sh, sh.lock(), deadline, &done);
                drop(st);
                if matches!(how, AppRead::NotNow) {
                    break;
                }
            }
        }
        self.slot.wait_until(deadline)
    }

    /// The packet identifier the publish was given (`None` for a QoS 0 publish). If its session
    /// ends first (clean session, or the broker had none) and the message is published again
    /// under a new identifier ([`SessionLostPolicy::Resend`](mqtt_session::SessionLostPolicy)),
    /// this `Pending` follows it and completes on the new identifier's acknowledgement; this
    /// getter keeps returning the first one.
    pub fn packet_id(&self) -> Option<PacketId> {
        self.packet_id
    }

    /// Blocks until the operation completes.
    pub fn wait(&self) -> Result<T, Error> {
        self.wait_until(None)
    }

    /// Blocks until the operation completes or `timeout` passes ([`Error::Timeout`]; the
    /// operation goes on).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.wait_until(Some(deadline_after(timeout)))
    }

    /// The result if the operation has completed.
    pub fn result(&self) -> Option<Result<T, Error>> {
        lock(&self.slot.state).result.clone()
    }

    /// Runs `f` with the result: at once on this thread if the operation has completed, else
    /// on the client's IO thread when it does (keep it short; it may call the client).
    pub fn on_complete(self, f: impl FnOnce(Result<T, Error>) + Send + 'static) {
        let mut s = lock(&self.slot.state);
        match &s.result {
            Some(r) => {
                let r = r.clone();
                drop(s);
                f(r);
            }
            None => s.callback = Some(Box::new(f)),
        }
    }
}
