//! The blocking client's receive queue: `message_get`, `try_recv`, `recv` and the iterator.

use std::time::{Duration, Instant};

use super::client::Client;
use super::driver::read::{AppRead, read_instead_of_waiting};
use super::shared::State;
use crate::core::{Status, deadline_after};
use crate::error::{Error, MessageGetError};
use crate::options::{Message, MessageInfo};

/// An iterator over received messages ([`Client::messages`]); ends when the connection is over
/// and the queue is empty, or the client is closed.
#[derive(Debug)]
pub struct Messages<'a> {
    client: &'a Client,
}

impl Iterator for Messages<'_> {
    type Item = Message;
    fn next(&mut self) -> Option<Message> {
        self.client.recv().ok()
    }
}

impl Client {
    fn took_message(&self, st: &mut State, seq: Option<u64>) {
        st.c.took(seq);
        // Reading pauses while the queue is full: a free slot lets it go on.
        if !st.inbox.is_empty() {
            self.shared().wake_io(st);
        }
    }

    /// Copies the oldest received message's topic and payload into the caller's buffers and
    /// removes it from the queue (`nxd_mqtt_client_message_get`). Never blocks.
    ///
    /// An empty queue is [`MessageGetError::NoMessage`]. Buffers too small for the message give
    /// [`MessageGetError::BufferTooSmall`] with the sizes it needs, and the message stays
    /// queued.
    pub fn message_get(
        &self,
        topic: &mut [u8],
        payload: &mut [u8],
    ) -> Result<MessageInfo, MessageGetError> {
        let mut st = self.shared().lock();
        let Some(m) = st.messages.front() else {
            return Err(MessageGetError::NoMessage);
        };
        let (topic_len, payload_len) = (m.topic.len(), m.payload.len());
        let (Some(t), Some(p)) = (topic.get_mut(..topic_len), payload.get_mut(..payload_len))
        else {
            return Err(MessageGetError::BufferTooSmall {
                topic_len,
                payload_len,
            });
        };
        t.copy_from_slice(m.topic.as_bytes());
        p.copy_from_slice(&m.payload);
        let info = MessageInfo {
            topic_len,
            payload_len,
            qos: m.qos,
            retain: m.retain,
            dup: m.dup,
        };
        let seq = m.seq;
        st.pop_message();
        self.took_message(&mut st, seq);
        Ok(info)
    }

    /// Takes the oldest received message, if any, without blocking.
    pub fn try_recv(&self) -> Option<Message> {
        let mut st = self.shared().lock();
        if st.c.shutdown {
            return None;
        }
        let m = st.pop_message();
        if let Some(m) = &m {
            self.took_message(&mut st, m.seq);
        }
        m
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<Message, Error> {
        let sh = self.shared();
        let mut st = sh.lock();
        loop {
            // Closing (perhaps from a callback, the IO thread still saying goodbye): the
            // messages are no longer handed out.
            if st.c.shutdown {
                return Err(Error::Closed);
            }
            if let Some(m) = st.pop_message() {
                self.took_message(&mut st, m.seq);
                return Ok(m);
            }
            match st.c.status {
                Status::Closed => return Err(Error::Closed),
                Status::Idle if !st.c.reconnecting && st.connect_req.is_none() => {
                    return Err(match &st.c.last_reason {
                        Some(r) => Error::ConnectionLost(r.clone()),
                        None => Error::NotConnected,
                    });
                }
                _ => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout);
            }
            let done = |st: &State| {
                st.c.shutdown || !st.messages.is_empty() || st.c.status != Status::Connected
            };
            st = match read_instead_of_waiting(sh, st, deadline, &done) {
                (st, AppRead::Read) => st,
                (st, AppRead::NotNow) => sh.wait_app(st, deadline).map_err(|_| Error::Timeout)?,
            };
        }
    }

    /// Blocks until a message arrives. Fails when the queue is empty and there is no
    /// connection (nor one being made or scheduled): [`Error::ConnectionLost`] with the reason
    /// the last one ended, [`Error::NotConnected`] before the first, [`Error::Closed`] after
    /// [`Client::close`].
    pub fn recv(&self) -> Result<Message, Error> {
        self.recv_until(None)
    }

    /// Like [`Client::recv`], giving up with [`Error::Timeout`] after `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message, Error> {
        self.recv_until(Some(deadline_after(timeout)))
    }

    /// Received messages as an iterator (each item from [`Client::recv`]; ends on its error).
    pub fn messages(&self) -> Messages<'_> {
        Messages { client: self }
    }

    /// Messages waiting in the receive queue.
    pub fn queued_messages(&self) -> usize {
        self.shared().lock().messages.len()
    }
}
