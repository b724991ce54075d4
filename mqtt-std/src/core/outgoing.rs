//! The bytes to write in one round (both clients).

use crate::core::Sess;

/// What the buffer grows by once it is this large (a larger packet gets what it needs).
/// Below it, the buffer doubles from [`MIN_ROOM`], so that a client that writes only small
/// packets keeps a small buffer (10,000 idle sessions in one process held 64 KiB each of a
/// zero-filled buffer before).
const OUT_ROOM: usize = 64 * 1024;
/// The first room the buffer gets.
const MIN_ROOM: usize = 1024;

/// The bytes to write this round (both clients). The session encodes its packets straight
/// into the buffer (no copy between a transmit buffer and a write buffer); `buf` stays
/// initialized beyond `len`, so that reusing it costs nothing. It starts empty, without an
/// allocation, and grows on the first `fill` that needs room.
#[derive(Default)]
pub(crate) struct Outgoing {
    buf: Vec<u8>,
    len: usize,
}

impl Outgoing {
    pub(crate) fn new() -> Self {
        Outgoing::default()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Moves every packet the session has to send to the end. Returns whether any came.
    pub(crate) fn fill(&mut self, session: &mut Sess, now: mqtt_session::Instant) -> bool {
        let mut any = false;
        loop {
            let room = self.buf.get_mut(self.len..).unwrap_or_default();
            let free = room.len();
            match session.poll_transmit(now, room) {
                Ok(Some(n)) => {
                    self.len += n.min(free);
                    any = true;
                }
                Ok(None) => return any,
                Err(too_small) => {
                    if too_small.required <= free {
                        return any;
                    }
                    let grow = self.buf.len().clamp(MIN_ROOM, OUT_ROOM);
                    let want = self.len.saturating_add(too_small.required.max(grow));
                    self.buf.resize(want, 0);
                }
            }
        }
    }
}
