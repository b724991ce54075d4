//! Rounds run off the IO thread: an application thread's turn after a session command
//! ([`take_turn`]), and the reader thread of each connection, which reads and then takes its
//! turn (see the [driver's docs](super)).

use std::io::{self, Read as _};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Instant;

use super::super::shared::{Shared, State};
use super::{INBOX_LIMIT, IoSide, READ_CHUNK, Runner, read};

/// What [`run_turn`] does when another thread holds the IO side.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Busy {
    /// Leave: a command sets `wake`, which whoever holds the IO side looks at once more after
    /// letting go of it.
    Leave,
    /// Wake the IO thread: input in the inbox is not looked at again that way.
    WakeIo,
}

/// Called by an application thread after a session command (the state unlocked): see
/// [`run_turn`].
pub(crate) fn take_turn(shared: &Shared) {
    match shared.io.get().and_then(std::sync::Weak::upgrade) {
        Some(cell) => run_turn(shared, &cell, Busy::Leave),
        // Not started or ended: the IO thread (if any) sees the command.
        None => {
            let _st = shared.lock();
            shared.notify_io();
        }
    }
}

/// Runs rounds on this thread (not the IO thread) while there is input or a command to write
/// and the IO side is free, so that nothing waits for the IO thread to be woken. Work that is
/// the IO thread's (or a connection not in its steady state) wakes the IO thread instead.
pub(super) fn run_turn(shared: &Shared, cell: &Mutex<IoSide>, busy: Busy) {
    loop {
        let mut io = match cell.try_lock() {
            Ok(io) => io,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                if busy == Busy::WakeIo {
                    let _st = shared.lock();
                    shared.notify_io();
                }
                return;
            }
        };
        let st = shared.lock();
        let input = !st.inbox.is_empty() && io.can_take(&st);
        if st.wake || input {
            if io.others_may_run(&st) {
                io.exchange(shared, st, Runner::Other);
                continue;
            }
            shared.notify_io();
            return;
        }
        drop(st);
        drop(io);
        // A command that came while this thread held the IO side, from a thread that then
        // found it taken and left.
        if !shared.lock().wake {
            return;
        }
    }
}

/// What one read of a connection gave: bytes, or its end (`None`: closed by the peer).
pub(super) type Got = Result<Vec<u8>, Option<io::ErrorKind>>;

/// Puts what one read of the current connection gave into the inbox (the state locked):
/// bytes, then the round on this thread if the IO side (`cell`) is free, else the IO
/// thread's; or the end of the stream, for the IO thread. The reader thread and an
/// application thread reading for itself both hand their reads over here.
pub(super) fn into_inbox<'a>(
    shared: &'a Shared,
    cell: Option<&Mutex<IoSide>>,
    mut st: MutexGuard<'a, State>,
    got: Got,
) -> MutexGuard<'a, State> {
    match got {
        Ok(bytes) => {
            st.inbox_bytes += bytes.len();
            st.inbox.push_back(bytes);
            drop(st);
            if let Some(cell) = cell {
                run_turn(shared, cell, Busy::WakeIo);
            }
            shared.lock()
        }
        Err(kind) => {
            st.inbox_end = Some(kind);
            shared.notify_io();
            st
        }
    }
}

/// The reader thread of connection `conn_gen`: blocking reads into the inbox, then the round
/// itself when the IO side is free (see the module docs).
pub(super) fn reader(shared: &Shared, cell: &Mutex<IoSide>, tcp: Arc<TcpStream>, conn_gen: u64) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut park = read::HAND_BACK;
    loop {
        {
            // Parked while an application thread reads (see `read`).
            let mut st = shared.lock();
            loop {
                if st.conn_gen != conn_gen || st.c.shutdown || st.inbox_end.is_some() {
                    return;
                }
                match read::reader_may_read(&mut st, Instant::now()) {
                    Ok(()) => break,
                    Err(wait) => {
                        st = shared
                            .reader_cv
                            .wait_timeout(st, wait.max(park))
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                        park = (park * 2).min(read::PARK_MAX);
                    }
                }
            }
            park = read::HAND_BACK;
            st.bg_reading = true;
        }
        let r = (&*tcp).read(&mut buf);
        let mut st = shared.lock();
        st.bg_reading = false;
        if st.conn_gen != conn_gen || st.c.shutdown {
            return;
        }
        let got = match r {
            Ok(0) => Err(None),
            Ok(n) => Ok(buf.get(..n).unwrap_or_default().to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(Some(e.kind())),
        };
        let ended = got.is_err();
        st = into_inbox(shared, Some(cell), st, got);
        if ended {
            return;
        }
        while st.inbox_bytes >= INBOX_LIMIT && st.conn_gen == conn_gen && !st.c.shutdown {
            st = shared
                .reader_cv
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if st.conn_gen != conn_gen || st.c.shutdown {
            return;
        }
    }
}
