//! Reads by the thread that waits: an application thread about to block for a message or a
//! completion reads the connection itself instead, so that the bytes it waits for wake the
//! thread that wants them, with no reader thread in between (see the [driver's docs](super)).
//!
//! One thread at a time reads a connection: its reader thread or one application thread.
//! An application thread takes the reads only while the reader thread is not inside `read`:
//! finding it there, it says it wants them (`app_wants_read`), waits as before, and the reader
//! thread parks after that read. A parked reader thread takes the reads back once no
//! application thread has read for [`HAND_BACK`], looking again with a back-off of
//! [`HAND_BACK`] to [`PARK_MAX`] while application threads keep reading (woken when a long
//! read by one ends, so that it looks again within [`HAND_BACK`]).
//!
//! An application thread reading takes the bytes already there without polling; when none
//! are, it yields the CPU once (to the broker or a peer thread about to send them), then
//! waits in `poll` on the socket and on a wake-up pipe, for [`QUIET`] at most: when nothing
//! came by then, it gives the reads back to the reader thread (at once) and waits on its
//! condition variable, so that a quiet connection has nobody waking on a timer. A round
//! run by another thread while it polls (the IO thread's timers, another application
//! thread's command, the IO thread taking input from the inbox) writes a byte to the pipe, so
//! that whatever that round completed or queued is seen at once. Closing a link shuts its
//! socket down, which ends the poll too.

use std::time::{Duration, Instant};

use super::super::shared::{Shared, State};

/// How long after an application thread's last read the reader thread takes the reads back.
pub(crate) const HAND_BACK: Duration = Duration::from_millis(5);
/// The longest a parked reader thread sleeps before looking again.
pub(crate) const PARK_MAX: Duration = Duration::from_millis(32);
/// How long an application thread polls a connection on which nothing comes before it hands
/// the reads back to the reader thread and waits on its condition variable instead (so that
/// a quiet connection has its reader thread in `read` and nobody waking on a timer).
pub(crate) const QUIET: Duration = Duration::from_millis(50);

/// What [`read_instead_of_waiting`] did.
pub(crate) enum AppRead {
    /// Read once (input, an end of stream, a wake-up, the deadline, or nothing): look at the
    /// condition (and the deadline) again.
    Read,
    /// This thread may not read now, or polled [`QUIET`] with nothing coming and gave the
    /// reads back: wait on the condition variable as before.
    NotNow,
}

#[cfg(unix)]
pub(crate) use imp::{Kick, read_instead_of_waiting};

#[cfg(not(unix))]
pub(crate) use fallback::{Kick, read_instead_of_waiting};

/// Whether an application thread may read the connection (whose socket `read_sock` holds)
/// now, the state locked: the connection is in its steady state and no other application
/// thread reads it.
#[cfg_attr(not(unix), allow(dead_code))]
fn may_read(shared: &Shared, st: &State) -> bool {
    use crate::core::Status;
    st.c.status == Status::Connected
        && !super::lifecycle_due(st)
        && !st.app_reading
        && st.inbox_bytes < super::INBOX_LIMIT
        && shared
            .io_thread
            .get()
            .is_some_and(|t| *t != std::thread::current().id())
}

/// The reader thread's side (the state locked): whether it may read now, or how long to
/// park first.
pub(crate) fn reader_may_read(st: &mut State, now: Instant) -> Result<(), Duration> {
    if st.app_reading {
        return Err(HAND_BACK);
    }
    if st.app_wants_read {
        // Parks from now on; takes the reads back if no application thread comes for them.
        st.app_wants_read = false;
        st.app_read_at = Some(now);
        return Err(HAND_BACK);
    }
    match st.app_read_at {
        Some(at) if now.saturating_duration_since(at) < HAND_BACK => {
            Err(HAND_BACK - now.saturating_duration_since(at))
        }
        _ => Ok(()),
    }
}

/// Ends an application thread's hold on the reads (the state locked). After a read that
/// found the connection quiet, the reader thread takes the reads at once; else after
/// [`HAND_BACK`].
#[cfg_attr(not(unix), allow(dead_code))]
fn release(shared: &Shared, st: &mut State, since: Instant, quiet: bool) {
    st.app_reading = false;
    st.app_poller = None;
    let now = Instant::now();
    st.app_read_at = (!quiet).then_some(now);
    if now.saturating_duration_since(since) > HAND_BACK {
        // A long read: the reader thread may be parked for long; it looks again at once.
        shared.reader_cv.notify_all();
    }
}

#[cfg(unix)]
mod imp {
    use std::io::{self, Read as _, Write as _};
    use std::net::TcpStream;
    use std::os::unix::net::UnixStream;
    use std::sync::MutexGuard;
    use std::time::{Duration, Instant};

    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::net::{RecvFlags, recv};

    use super::super::super::shared::{Shared, State};
    use super::super::{READ_CHUNK, turn};
    use super::{AppRead, may_read, release};

    /// A wake-up pipe for the application thread that polls the socket.
    pub(crate) struct Kick {
        tx: UnixStream,
        rx: UnixStream,
    }

    impl Kick {
        /// `None` if the pipe cannot be made (application threads then never read).
        pub(crate) fn new() -> Option<Self> {
            let (tx, rx) = UnixStream::pair().ok()?;
            tx.set_nonblocking(true).ok()?;
            rx.set_nonblocking(true).ok()?;
            Some(Kick { tx, rx })
        }

        /// Wakes the poller (a full pipe already does).
        pub(crate) fn kick(&self) {
            let _ = (&self.tx).write(&[1]);
        }

        fn drain(&self) {
            let mut buf = [0u8; 64];
            while matches!((&self.rx).read(&mut buf), Ok(n) if n > 0) {}
        }
    }

    /// Called by an application thread about to wait for `done` (the state locked, `done`
    /// not yet true). If it may read the connection, it reads once and runs the round, and
    /// says so; else ([`AppRead::NotNow`]) it waits on its condition variable as before.
    pub(crate) fn read_instead_of_waiting<'a>(
        shared: &'a Shared,
        st: MutexGuard<'a, State>,
        deadline: Option<Instant>,
        done: &dyn Fn(&State) -> bool,
    ) -> (MutexGuard<'a, State>, AppRead) {
        read_once(shared, st, deadline, done, super::QUIET)
    }

    /// [`read_instead_of_waiting`], giving the reads back after `quiet` with nothing coming.
    pub(super) fn read_once<'a>(
        shared: &'a Shared,
        mut st: MutexGuard<'a, State>,
        deadline: Option<Instant>,
        done: &dyn Fn(&State) -> bool,
        quiet_for: Duration,
    ) -> (MutexGuard<'a, State>, AppRead) {
        let Some(kick) = &shared.kick else {
            return (st, AppRead::NotNow);
        };
        let Some(sock) = st.read_sock.clone().filter(|_| may_read(shared, &st)) else {
            return (st, AppRead::NotNow);
        };
        if st.bg_reading {
            // Inside its read: the reader thread parks after it.
            st.app_wants_read = true;
            return (st, AppRead::NotNow);
        }
        let since = Instant::now();
        st.app_reading = true;
        st.app_wants_read = false;
        st.app_poller = Some(std::thread::current().id());
        st.app_kicked = false;
        // What a round on another thread did before this thread said it polls.
        if done(&st) {
            release(shared, &mut st, since, false);
            return (st, AppRead::Read);
        }
        let conn_gen = st.conn_gen;
        drop(st);

        // Bytes already there are taken without polling; when none are, the CPU goes to
        // whoever may be about to send them (the broker, the peer thread) once before this
        // thread sleeps in `poll`.
        let mut kicked = false;
        let mut got = try_recv(&sock);
        if got.is_none() {
            std::thread::yield_now();
            got = try_recv(&sock);
        }
        let mut quiet = false;
        if got.is_none() {
            let now = Instant::now();
            let until = match deadline {
                Some(d) if d <= now + quiet_for => d,
                _ => {
                    quiet = true;
                    now + quiet_for
                }
            };
            let left = until.saturating_duration_since(now);
            let timeout = Some(Timespec {
                tv_sec: left.as_secs().try_into().unwrap_or(i64::MAX),
                tv_nsec: left.subsec_nanos().into(),
            });
            let readable = {
                let mut fds = [
                    PollFd::new(&*sock, PollFlags::IN),
                    PollFd::new(&kick.rx, PollFlags::IN),
                ];
                match poll(&mut fds, timeout.as_ref()) {
                    Ok(_) => {
                        kicked = !fds[1].revents().is_empty();
                        !fds[0].revents().is_empty()
                    }
                    // EINTR and the like: look again.
                    Err(_) => false,
                }
            };
            if kicked {
                kick.drain();
            }
            if readable {
                got = try_recv(&sock);
            }
            quiet &= !readable && !kicked;
        }

        let mut st = shared.lock();
        release(shared, &mut st, since, quiet);
        let stale = st.conn_gen != conn_gen || st.c.shutdown || st.inbox_end.is_some();
        if let Some(got) = got.filter(|_| !stale) {
            let cell = shared.io.get().and_then(std::sync::Weak::upgrade);
            st = turn::into_inbox(shared, cell.as_deref(), st, got);
        }
        if quiet && !done(&st) {
            // Nothing came for QUIET: the reader thread reads again; wait for it (unless a
            // round on another thread did what this thread waits for after the poll ended).
            return (st, AppRead::NotNow);
        }
        (st, AppRead::Read)
    }

    /// One read without blocking: bytes, the end of the stream (`Err(None)`) or its error,
    /// or `None` when nothing is there.
    fn try_recv(sock: &TcpStream) -> Option<turn::Got> {
        let mut buf = Vec::with_capacity(READ_CHUNK);
        match recv(
            sock,
            rustix::buffer::spare_capacity(&mut buf),
            RecvFlags::DONTWAIT,
        ) {
            Ok((0, _)) => Some(Err(None)),
            Ok(_) => Some(Ok(buf)),
            Err(e) => match io::Error::from(e).kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => None,
                kind => Some(Err(Some(kind))),
            },
        }
    }
}

#[cfg(not(unix))]
mod fallback {
    use std::sync::MutexGuard;
    use std::time::Instant;

    use super::super::super::shared::{Shared, State};
    use super::AppRead;

    /// No wake-up pipe here: application threads never read the connection.
    pub(crate) struct Kick;

    impl Kick {
        pub(crate) fn new() -> Option<Self> {
            None
        }

        pub(crate) fn kick(&self) {}
    }

    pub(crate) fn read_instead_of_waiting<'a>(
        _shared: &'a Shared,
        st: MutexGuard<'a, State>,
        _deadline: Option<Instant>,
        _done: &dyn Fn(&State) -> bool,
    ) -> (MutexGuard<'a, State>, AppRead) {
        (st, AppRead::NotNow)
    }
}

/// Writes to the wake-up pipe if an application thread other than this one polls the socket
/// (the state locked; once per poll).
pub(crate) fn kick_poller(shared: &Shared, st: &mut State) {
    if let Some(t) = st.app_poller {
        if !st.app_kicked && t != std::thread::current().id() {
            st.app_kicked = true;
            if let Some(k) = &shared.kick {
                k.kick();
            }
        }
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, mpsc};
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::core::Status;
    use crate::{Client, ClientOptions};

    /// Until `f` holds of the state, or panics after 10 s.
    fn until(c: &Client, f: impl Fn(&State) -> bool) {
        let give_up = Instant::now() + Duration::from_secs(10);
        while !f(&c.shared().lock()) {
            assert!(Instant::now() < give_up, "state not reached");
            thread::yield_now();
        }
    }

    /// A client whose state says connected, over a socket nobody writes to.
    fn quiet_client() -> (Client, TcpStream) {
        let c = Client::new(ClientOptions::new("read-kick")).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (peer, _) = listener.accept().unwrap();
        until(&c, |_| c.shared().io_thread.get().is_some());
        let mut st = c.shared().lock();
        st.c.status = Status::Connected;
        st.read_sock = Some(Arc::new(ours));
        drop(st);
        (c, peer)
    }

    fn idle(c: &Client) {
        let mut st = c.shared().lock();
        st.c.status = Status::Idle;
        st.read_sock = None;
    }

    /// An application thread polling a quiet socket is woken by a round another thread runs
    /// (here: what that round did is a bumped `tx_drained`), through the wake-up pipe alone.
    #[test]
    fn a_round_on_another_thread_wakes_the_polling_thread() {
        let (c, _peer) = quiet_client();
        let (tx, rx) = mpsc::channel();
        let reader = c.clone();
        let h = thread::spawn(move || {
            let sh = reader.shared();
            let done = |st: &State| st.tx_drained != 0;
            let mut st = sh.lock();
            while !done(&st) {
                // Polls for up to a minute: only the wake-up pipe ends it early.
                let (s, how) = imp::read_once(sh, st, None, &done, Duration::from_secs(60));
                assert!(matches!(how, AppRead::Read), "woken before the quiet time");
                st = s;
            }
            assert!(!st.app_reading && st.app_poller.is_none(), "reads released");
            tx.send(()).unwrap();
        });
        until(&c, |st| st.app_poller.is_some());
        {
            let mut st = c.shared().lock();
            st.tx_drained = 1;
            kick_poller(c.shared(), &mut st);
            assert!(st.app_kicked);
        }
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the polling thread was not woken");
        h.join().unwrap();
        idle(&c);
    }

    /// A deadline ends a read on a quiet socket; the reads are released.
    #[test]
    fn a_deadline_ends_a_read_on_a_quiet_socket() {
        let (c, _peer) = quiet_client();
        let sh = c.shared();
        let deadline = Instant::now() + Duration::from_millis(50);
        let (st, how) = read_instead_of_waiting(sh, sh.lock(), Some(deadline), &|_| false);
        assert!(matches!(how, AppRead::Read));
        assert!(Instant::now() >= deadline);
        assert!(!st.app_reading && st.app_read_at.is_some());
        drop(st);
        idle(&c);
    }

    /// Nothing comes for the quiet time: the application thread gives the reads back (the
    /// reader thread may read at once) and says to wait on the condition variable.
    #[test]
    fn a_quiet_read_gives_the_reads_back() {
        let (c, _peer) = quiet_client();
        let sh = c.shared();
        let quiet = Duration::from_millis(20);
        let (st, how) = imp::read_once(sh, sh.lock(), None, &|_| false, quiet);
        assert!(matches!(how, AppRead::NotNow));
        assert!(!st.app_reading && st.app_poller.is_none());
        assert_eq!(st.app_read_at, None, "the reader thread reads at once");
        drop(st);
        idle(&c);
    }

    /// While the reader thread is inside `read`, an application thread does not read: it
    /// asks for the reads, and the reader thread, after its read, parks.
    #[test]
    fn an_application_thread_does_not_read_beside_the_reader_thread() {
        let (c, _peer) = quiet_client();
        let sh = c.shared();
        let mut st = sh.lock();
        st.bg_reading = true;
        let (mut st, how) = read_instead_of_waiting(sh, st, None, &|_| false);
        assert!(matches!(how, AppRead::NotNow));
        assert!(st.app_wants_read && !st.app_reading);
        st.bg_reading = false;
        let now = Instant::now();
        assert_eq!(reader_may_read(&mut st, now), Err(HAND_BACK));
        assert!(!st.app_wants_read, "asked once");
        assert!(
            reader_may_read(&mut st, now + HAND_BACK).is_ok(),
            "nobody came"
        );
        drop(st);
        idle(&c);
    }
}
