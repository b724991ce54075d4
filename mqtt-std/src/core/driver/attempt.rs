//! Connection attempts: a link opens (or fails to), the transport comes up, CONNECT goes out.

use std::time::Instant;

use super::{Attempt, Core, LinkState};
use crate::core::{Common, Family, Status, Target};
use crate::error::{DisconnectReason, Error};
use crate::options::Connected;

impl<F: Family, L: LinkState> Core<F, L> {
    /// A link to `target` is open: the attempt begins, and CONNECT goes out as soon as the
    /// transport is up. An explicit connect replaces a scheduled reconnect.
    pub(crate) fn begin(
        &mut self,
        c: &mut Common<F>,
        link: L,
        target: Target,
        done: Option<F::Done<Connected>>,
        deadline: Instant,
    ) {
        self.reconnect_at = None;
        c.reconnecting = false;
        c.status = Status::Connecting;
        lifecycle!(
            debug,
            "{}:{}: link open ({}{}), sending CONNECT",
            target.host,
            target.port,
            if target.tls.is_some() { "TLS" } else { "TCP" },
            if target.ws.is_some() {
                ", WebSocket"
            } else {
                ""
            }
        );
        if let Some(t) = &mut self.tracer {
            t.reset(target.options.protocol_version());
        }
        self.link = Some(link);
        self.input.clear();
        self.stalled = false;
        self.closing = None;
        self.attempt = Some(Attempt {
            done,
            deadline,
            options: target.options.clone(),
            connect_sent: false,
            refused: None,
            connack: None,
        });
        self.pending_target = Some(target);
        if !self.handshaking() {
            self.transport_up(c);
            self.pump(c);
        }
    }

    /// Opening a link failed (`auto`: for an automatic reconnect, which is tried again later).
    pub(crate) fn open_failed(
        &mut self,
        c: &mut Common<F>,
        e: Error,
        done: Option<F::Done<Connected>>,
        auto: bool,
    ) {
        if c.status == Status::Connecting {
            c.status = Status::Idle;
        }
        match &self.target {
            Some(t) if auto => {
                lifecycle!(warn, "reconnecting to {}:{} failed: {e}", t.host, t.port)
            }
            _ => lifecycle!(info, "connecting failed: {e}"),
        }
        if let Some(done) = done {
            self.complete(done, Err(e));
        }
        if auto {
            self.reconnect_failures = self.reconnect_failures.saturating_add(1);
            self.schedule_reconnect(c);
        }
        self.wake.status = true;
    }

    /// The transport is up: tell the session and queue CONNECT.
    pub(super) fn transport_up(&mut self, c: &mut Common<F>) {
        let Some(a) = &mut self.attempt else {
            return;
        };
        a.connect_sent = true;
        let options = a.options.clone();
        let now = self.clock.now();
        c.session.handle_transport_up(now);
        let result = match options.v5_lists(c.will.as_ref(), self.options.max_packet_size) {
            Ok(lists) => {
                let request = options.session_connect(
                    &self.client_id,
                    c.login.as_ref(),
                    c.will.as_ref(),
                    &lists,
                );
                c.session.connect(now, request).map_err(Error::from)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            if let Some(done) = self.attempt.as_mut().and_then(|a| a.done.take()) {
                self.complete(done, Err(e));
            }
            self.end_link(c, DisconnectReason::Local);
        }
    }
}
