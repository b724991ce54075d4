//! The end of a link (the session's, the transport's or the application's), the automatic
//! reconnects that follow, and the client's shutdown.

use std::time::{Duration, Instant};

use super::{Core, LinkState};
use crate::core::{Common, Family, Fire, Status, Target, backoff, deadline_after};
use crate::error::{DisconnectReason, Error};
use crate::store::SessionStore;

impl<F: Family, L: LinkState> Core<F, L> {
    /// The session ended the connection: how long the shell may let the link linger
    /// (half-close and drain after the DISCONNECT went out) before [`Core::finish_closing`].
    pub(crate) fn closing_linger(&self) -> Option<Duration> {
        self.closing
            .as_ref()
            .map(|reason| self.options.linger_for(reason))
    }

    /// Ends the link the session ended.
    pub(crate) fn finish_closing(&mut self, c: &mut Common<F>) {
        if let Some(reason) = self.closing.take() {
            self.end_link(c, reason);
        }
    }

    /// The link failed or ended. `attempt` is the error the connect waiting for it gets (the
    /// TLS or WebSocket handshake failed); without it, the connect fails with the reason.
    pub(crate) fn link_lost(
        &mut self,
        c: &mut Common<F>,
        reason: DisconnectReason,
        attempt: Option<Error>,
    ) {
        if self.link.is_none() || self.closing.is_some() {
            return;
        }
        if let Some(e) = attempt {
            if let Some(done) = self.attempt.as_mut().and_then(|a| a.done.take()) {
                self.complete(done, Err(e));
            }
        }
        self.end_link(c, reason);
    }

    /// Ends the connection (if any): the link goes to [`Core::closed`], the session is told,
    /// and everything waiting on this connection is answered.
    pub(crate) fn end_link(&mut self, c: &mut Common<F>, reason: DisconnectReason) {
        self.closing = None;
        let had_link = self.link.is_some();
        if had_link {
            let to = self.pending_target.as_ref().or(self.target.as_ref());
            let (host, port) = to.map_or(("?", 0), |t| (t.host.as_str(), t.port));
            if reason.is_local() {
                lifecycle!(info, "{host}:{port}: connection closed ({reason})");
            } else {
                lifecycle!(warn, "{host}:{port}: connection ended: {reason}");
            }
        }
        if let Some(link) = self.link.take() {
            self.closed.push(link);
        }
        self.input.clear();
        self.stalled = false;
        self.out.clear();
        self.ending = true;
        c.session.handle_transport_closed(self.clock.now());
        self.drain_events(c);
        self.ending = false;
        self.closing = None;
        let _ = self.collect_transmit(c);
        self.out.clear();

        // A connection attempt still open fails with the reason.
        if let Some(a) = self.attempt.take() {
            if let Some(done) = a.done {
                self.complete(done, Err(reason.connect_error(a.refused)));
            }
            if self.target.is_some() && !reason.is_local() {
                self.reconnect_failures = self.reconnect_failures.saturating_add(1);
            }
        }
        // Requests awaiting an acknowledgement are forgotten by the session; so are QoS 0
        // messages not yet written. QoS 1/2 publishes stay pending in the session.
        let lost = Error::ConnectionLost(reason.clone());
        for (_, done) in std::mem::take(&mut c.subs) {
            self.complete(done, Err(lost.clone()));
        }
        for (_, done) in std::mem::take(&mut c.unsubs) {
            self.complete(done, Err(lost.clone()));
        }
        for (_, done) in std::mem::take(&mut c.subs5) {
            self.complete(done, Err(lost.clone()));
        }
        for (_, done) in std::mem::take(&mut c.unsubs5) {
            self.complete(done, Err(lost.clone()));
        }
        if let Some(done) = c.reauth.take() {
            self.complete(done, Err(lost.clone()));
        }
        // A new connection subscribes again (the broker may have lost the session).
        c.response_topics.clear();
        self.unsuback.clear();
        c.sub_filters.clear();
        c.unsub_filters.clear();
        for (_, done) in std::mem::take(&mut c.qos0) {
            self.complete_pub(done, Err(lost.clone()));
        }
        let was_connected = c.status == Status::Connected;
        if c.status != Status::Closed {
            c.status = Status::Idle;
        }
        c.last_reason = Some(reason.clone());
        for w in std::mem::take(&mut c.end_waiters) {
            self.complete(w, Ok(reason.clone()));
        }
        if had_link || was_connected {
            if let Some(f) = c.disconnect_notify.clone() {
                let r = reason.clone();
                self.fires.push(Fire::new(move || f(&r)));
            }
        }
        self.generation = self.generation.wrapping_add(1);
        if !reason.is_local() {
            self.schedule_reconnect(c);
        }
        if !c.reconnecting && !matches!(reason, DisconnectReason::ClientClosed) {
            // No reconnect follows: nobody waits for ever. The messages stay in the session.
            self.interrupt_publishes(c, &reason);
        }
        self.wake.status = true;
        self.wake.room = true;
    }

    /// Completes every QoS 1/2 publish still waiting with [`Error::PublishInterrupted`]: the
    /// link is gone and no reconnect follows. The messages stay in the session.
    fn interrupt_publishes(&mut self, c: &mut Common<F>, reason: &DisconnectReason) {
        c.pub_answers.clear();
        for (_, done) in std::mem::take(&mut c.pubs) {
            self.complete_pub(done, Err(Error::PublishInterrupted(reason.clone())));
        }
    }

    /// Schedules an automatic reconnect, if the options ask for them and a connection was
    /// ever accepted.
    pub(super) fn schedule_reconnect(&mut self, c: &mut Common<F>) {
        let Some(policy) = self.options.reconnect else {
            return;
        };
        if self.target.is_none() || c.shutdown || c.status == Status::Closed {
            return;
        }
        let delay = backoff(policy, self.reconnect_failures);
        lifecycle!(
            info,
            "reconnecting in {delay:?} (after {} failed attempts)",
            self.reconnect_failures
        );
        self.reconnect_at = Some(deadline_after(delay));
        c.reconnecting = true;
    }

    /// The application cancelled the scheduled reconnect (a disconnect while idle).
    pub(crate) fn cancel_reconnect(&mut self, c: &mut Common<F>) {
        if !std::mem::take(&mut c.cancel_reconnect) {
            return;
        }
        c.reconnecting = false;
        self.reconnect_at = None;
        self.generation = self.generation.wrapping_add(1);
        let reason = c
            .last_reason
            .clone()
            .unwrap_or(DisconnectReason::TransportClosed);
        self.interrupt_publishes(c, &reason);
        self.wake.status = true;
    }

    /// The target of a reconnect that is due now, if one is: the status is then
    /// `Connecting`, and the shell opens a link to it.
    pub(crate) fn due_reconnect(&mut self, c: &mut Common<F>) -> Option<Target> {
        if self.link.is_some()
            || c.status != Status::Idle
            || self.reconnect_at.is_none_or(|at| at > Instant::now())
        {
            return None;
        }
        self.reconnect_at = None;
        let target = self.target.clone()?;
        c.status = Status::Connecting;
        Some(target)
    }

    /// The client is closing: DISCONNECT if still connected. Returns whether there is
    /// something to write (the shell writes [`Core::out`] and finishes the link within the
    /// linger, then calls [`Core::shutdown_end`]).
    pub(crate) fn shutdown_begin(&mut self, c: &mut Common<F>) -> bool {
        if let Some(f) = c.session.store().file() {
            f.finish_taken();
        }
        self.out.clear();
        if c.session.is_connected() && c.session.disconnect(self.clock.now()).is_ok() {
            self.collect_transmit(c);
            if c.sync_store().is_err() {
                self.out.clear();
            }
        }
        !self.out.is_empty() && self.link.is_some()
    }

    /// Ends the link and everything waiting, and releases the durable store.
    pub(crate) fn shutdown_end(&mut self, c: &mut Common<F>) {
        self.out.clear();
        if self.link.is_some() || self.attempt.is_some() {
            self.end_link(c, DisconnectReason::ClientClosed);
        }
        self.reconnect_at = None;
        c.reconnecting = false;
        c.status = Status::Closed;
        c.pub_answers.clear();
        for (_, done) in std::mem::take(&mut c.pubs) {
            self.complete_pub(done, Err(Error::Closed));
        }
        for w in std::mem::take(&mut c.end_waiters) {
            self.complete(w, Ok(DisconnectReason::ClientClosed));
        }
        SessionStore::release(&mut c.session);
        self.wake.status = true;
        self.wake.room = true;
    }
}
