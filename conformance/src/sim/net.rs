//! A simulated network connection: two ordered byte pipes with delays, which can be cut after
//! any number of bytes.

use std::collections::VecDeque;

use super::rng::Rng;

/// A stalled stretch: after `after` bytes, pieces written during `duration` ms are delayed by
/// `latency` instead.
#[derive(Debug, Clone, Copy)]
struct Stall {
    after: u64,
    latency: (u64, u64),
    duration: u64,
    started: Option<u64>,
}

/// One direction of a connection: bytes in order, each chunk due at a virtual time.
#[derive(Debug)]
pub struct Pipe {
    chunks: VecDeque<(u64, Vec<u8>)>,
    /// Bytes this direction still carries before the connection is cut (`u64::MAX`: no cut).
    budget: u64,
    last_due: u64,
    latency: (u64, u64),
    max_piece: usize,
    stall: Option<Stall>,
    /// Bytes accepted so far.
    pub carried: u64,
}

impl Pipe {
    /// A pipe delaying each piece by `latency.0..=latency.1` ms, splitting writes into pieces of
    /// at most `max_piece` bytes, cut after `budget` bytes.
    pub fn new(latency: (u64, u64), max_piece: usize, budget: u64) -> Self {
        Pipe {
            chunks: VecDeque::new(),
            budget,
            last_due: 0,
            latency,
            max_piece: max_piece.max(1),
            stall: None,
            carried: 0,
        }
    }

    /// After `bytes` bytes, delay the pieces written in the next `duration` ms by `latency`
    /// instead (a peer that stalls for a while).
    pub fn stall_after(&mut self, bytes: u64, latency: (u64, u64), duration: u64) {
        self.stall = Some(Stall {
            after: bytes,
            latency,
            duration,
            started: None,
        });
    }

    /// Writes bytes at `now`. Returns the time the connection breaks if this write used up the
    /// budget (the bytes up to the cut are still delivered, the rest are lost).
    pub fn write(&mut self, rng: &mut Rng, now: u64, bytes: &[u8]) -> Option<u64> {
        if self.budget == 0 {
            return None;
        }
        let take = (bytes.len() as u64).min(self.budget) as usize;
        let mut rest = bytes.get(..take).unwrap_or_default();
        self.budget -= take as u64;
        self.carried += take as u64;
        while !rest.is_empty() {
            let n = (rng.range(1, self.max_piece as u64) as usize).min(rest.len());
            let (piece, tail) = rest.split_at(n);
            let latency = match self.stall.as_mut() {
                Some(st) if self.carried >= st.after => {
                    let started = *st.started.get_or_insert(now);
                    if now < started + st.duration {
                        st.latency
                    } else {
                        self.latency
                    }
                }
                _ => self.latency,
            };
            let due = (now + rng.range(latency.0, latency.1)).max(self.last_due);
            self.last_due = due;
            self.chunks.push_back((due, piece.to_vec()));
            rest = tail;
        }
        (self.budget == 0).then_some(self.last_due.max(now))
    }

    /// When everything written so far is through (at `now` or later).
    pub fn drained_at(&self, now: u64) -> u64 {
        self.last_due.max(now)
    }

    /// When the next piece is due.
    pub fn next_due(&self) -> Option<u64> {
        self.chunks.front().map(|(t, _)| *t)
    }

    /// Takes every piece due at or before `now`, joined.
    pub fn take_due(&mut self, now: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some((t, _)) = self.chunks.front() {
            if *t > now {
                break;
            }
            if let Some((_, piece)) = self.chunks.pop_front() {
                out.extend(piece);
            }
        }
        out
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Drops everything waiting.
    pub fn clear(&mut self) {
        self.chunks.clear();
    }
}

/// A connection: client-to-broker and broker-to-client pipes, and when it breaks.
#[derive(Debug)]
pub struct Link {
    /// Client to broker.
    pub up: Pipe,
    /// Broker to client.
    pub down: Pipe,
    /// When the connection breaks, once known.
    pub cut_at: Option<u64>,
    /// The client closed its side after its last bytes (they are still delivered).
    pub client_closed: bool,
}

impl Link {
    /// A link with the given pipes.
    pub fn new(up: Pipe, down: Pipe) -> Self {
        Link {
            up,
            down,
            cut_at: None,
            client_closed: false,
        }
    }

    /// Earliest thing the link has to do.
    pub fn next_due(&self) -> Option<u64> {
        [self.up.next_due(), self.down.next_due(), self.cut_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Records a cut at `at` (the earliest one wins).
    pub fn cut(&mut self, at: u64) {
        self.cut_at = Some(self.cut_at.map_or(at, |t| t.min(at)));
    }
}
