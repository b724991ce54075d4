//! Rounds run off the IO thread: an application thread's turn after a session command
//! ([`take_turn`]), and the reader thread of each connection, which reads and then takes its
//! turn (see the [driver's docs](super)).

use std::io::{self, Read as _};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, PoisonError, TryLockError};
use std::time::Instant;

use super::super::shared::Shared;
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
        match r {
            Ok(0) => {
                st.inbox_end = Some(None);
                shared.notify_io();
                return;
            }
            Ok(n) => {
                st.inbox
                    .push_back(buf.get(..n).unwrap_or_default().to_vec());
                st.inbox_bytes += n;
                drop(st);
                run_turn(shared, cell, Busy::WakeIo);
                st = shared.lock();
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
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                st.inbox_end = Some(Some(e.kind()));
                shared.notify_io();
                return;
            }
        }
    }
}
