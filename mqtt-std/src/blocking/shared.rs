//! What the blocking client's handles, its IO thread and its reader threads share.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread::ThreadId;
use std::time::Instant;

use super::driver::IoSide;
use super::driver::read::Kick;
use super::pending::Slot;
use crate::core::driver::Queued;
use crate::core::{Clock, Common, Family, Fire, Target};
use crate::error::Error;
use crate::options::{Connected, Message};

pub(crate) type ReceiveNotify = Arc<dyn Fn(usize) + Send + Sync>;

/// The blocking client's completions: a [`Slot`] to wait on, with an optional callback.
pub(crate) struct Slots;

impl Family for Slots {
    type Done<T: Clone + Send + 'static> = Arc<Slot<T>>;

    fn complete<T: Clone + Send + 'static>(
        done: Arc<Slot<T>>,
        r: Result<T, Error>,
    ) -> Option<Fire> {
        done.complete(r)
    }
}

/// A connect request handed to the IO thread.
pub(crate) struct ConnectRequest {
    pub(crate) target: Target,
    pub(crate) slot: Option<Arc<Slot<Connected>>>,
}

/// Everything the application threads and the IO thread share, under one mutex.
pub(crate) struct State {
    /// What both clients share with their drivers.
    pub(crate) c: Common<Slots>,

    // The reader thread's inbox: raw socket bytes of connection `conn_gen`.
    pub(crate) conn_gen: u64,
    pub(crate) inbox: VecDeque<Vec<u8>>,
    pub(crate) inbox_bytes: usize,
    pub(crate) inbox_end: Option<Option<io::ErrorKind>>,
    /// The socket of connection `conn_gen`, for an application thread that reads it
    /// ([`super::driver::read`]).
    pub(crate) read_sock: Option<Arc<TcpStream>>,
    /// The reader thread is inside `read`.
    pub(crate) bg_reading: bool,
    /// An application thread reads the connection (the reader thread does not).
    pub(crate) app_reading: bool,
    /// An application thread found the reader thread inside `read` and wants the reads.
    pub(crate) app_wants_read: bool,
    /// When an application thread last stopped reading.
    pub(crate) app_read_at: Option<Instant>,
    /// The application thread polling the socket, to be woken by rounds of other threads.
    pub(crate) app_poller: Option<ThreadId>,
    /// The poller was woken since it began polling.
    pub(crate) app_kicked: bool,

    // Requests to the IO thread.
    pub(crate) connect_req: Option<ConnectRequest>,
    pub(crate) wake: bool,
    /// Callbacks due from a round a reader thread ran, for the IO thread to run (callbacks
    /// run on the IO thread only).
    pub(crate) fires: Vec<Fire>,
    /// The deadline the IO thread sleeps until (`None`: until woken), so that a round run by
    /// a reader thread that brings a deadline forward wakes it.
    pub(crate) io_until: Option<Instant>,

    // The application side.
    pub(crate) messages: VecDeque<Message>,
    /// The bytes of `messages` ([`Message::size`]).
    pub(crate) queued_bytes: usize,
    pub(crate) depth: usize,
    /// Bumped whenever the transmit buffer drained (commands waiting for room go on).
    pub(crate) tx_drained: u64,
    pub(crate) tx_waiters: usize,
    pub(crate) receive_notify: Option<ReceiveNotify>,
}

impl State {
    /// The messages waiting for the application.
    pub(crate) fn queued(&self) -> Queued {
        Queued {
            messages: self.messages.len(),
            bytes: self.queued_bytes,
        }
    }

    /// Takes the oldest message waiting.
    pub(crate) fn pop_message(&mut self) -> Option<Message> {
        let m = self.messages.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(m.size());
        Some(m)
    }
}

pub(crate) struct Shared {
    pub(crate) st: Mutex<State>,
    /// Wakes the IO thread.
    pub(crate) io_cv: Condvar,
    /// Wakes application threads waiting for messages, status or transmit room.
    pub(crate) app_cv: Condvar,
    /// Wakes reader threads waiting for room in the inbox.
    pub(crate) reader_cv: Condvar,
    /// The IO thread sleeps on `io_cv` (changed and read only under the `st` lock, so that a
    /// wake-up is never lost; an atomic only so that it can be read beside a borrowed state).
    pub(crate) io_sleeping: AtomicBool,
    /// Application threads waiting on `app_cv` (changed and read under the `st` lock).
    pub(crate) app_waiters: AtomicUsize,
    pub(crate) clock: Clock,
    pub(crate) client_id: String,
    /// The IO side, once the IO thread made it: application threads run a round on it when
    /// it is free (weak: the IO thread owns it and drops it when it ends).
    pub(crate) io: OnceLock<Weak<Mutex<IoSide>>>,
    /// The IO thread (it never reads the connection itself: it holds the IO side).
    pub(crate) io_thread: OnceLock<ThreadId>,
    /// Wakes the application thread polling the socket (`None`: no application thread
    /// reads).
    pub(crate) kick: Option<Kick>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking user callback runs outside the lock, so poisoning means a bug in this
        // crate; carrying on with the data is still better than wedging every caller.
        self.st.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session's clock: milliseconds since the client was created.
    pub(crate) fn now(&self) -> mqtt_session::Instant {
        self.clock.now()
    }

    pub(crate) fn wake_io(&self, st: &mut State) {
        st.wake = true;
        self.notify_io();
    }

    /// Wakes the IO thread if it sleeps (call with the `st` lock held). A condition variable's
    /// notify is a system call even with nobody waiting; the IO thread is often busy.
    pub(crate) fn notify_io(&self) {
        if self.io_sleeping.load(Ordering::Relaxed) {
            self.io_cv.notify_one();
        }
    }

    /// Wakes the application threads waiting for messages, status or room, if any (call with
    /// the `st` lock held).
    pub(crate) fn notify_app(&self) {
        if self.app_waiters.load(Ordering::Relaxed) > 0 {
            self.app_cv.notify_all();
        }
    }

    pub(crate) fn wait_app<'a>(
        &self,
        st: MutexGuard<'a, State>,
        deadline: Option<Instant>,
    ) -> Result<MutexGuard<'a, State>, MutexGuard<'a, State>> {
        let left = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(st);
                }
                Some(left)
            }
        };
        self.app_waiters.fetch_add(1, Ordering::Relaxed);
        let st = match left {
            None => self.app_cv.wait(st).unwrap_or_else(PoisonError::into_inner),
            Some(left) => {
                self.app_cv
                    .wait_timeout(st, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
        self.app_waiters.fetch_sub(1, Ordering::Relaxed);
        Ok(st)
    }
}

/// The state lock held after a session command: once dropped, this thread writes what the
/// command queued if the IO side is free ([`super::driver::take_turn`]).
pub(crate) struct Turn<'a> {
    // Fields drop in order: the lock first, then the turn is taken.
    st: MutexGuard<'a, State>,
    _then: TakeTurn<'a>,
}

/// Takes the turn when dropped.
struct TakeTurn<'a>(&'a Shared);

impl Drop for TakeTurn<'_> {
    fn drop(&mut self) {
        super::driver::take_turn(self.0);
    }
}

impl<'a> Turn<'a> {
    pub(crate) fn new(shared: &'a Shared, st: MutexGuard<'a, State>) -> Self {
        Turn {
            st,
            _then: TakeTurn(shared),
        }
    }
}

impl Deref for Turn<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.st
    }
}

impl DerefMut for Turn<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.st
    }
}
