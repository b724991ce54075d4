//! SUBSCRIBE / UNSUBSCRIBE and their acknowledgements.

use mqtt_proto::{PacketId, QoS, TopicFilter};

use crate::error::CommandError;
use crate::event::Violation;
use crate::session::{Buffer, EventRepr, Request, Session, State};
use crate::store::Store;
use crate::time::Instant;
use crate::wire;

impl<S: Store, B: Buffer> Session<S, B> {
    /// Command: subscribe to one or more `(filter, maximum QoS)` pairs in one SUBSCRIBE. Needs
    /// [`State::Connected`]. The result arrives as
    /// [`Event::Subscribed`](crate::Event::Subscribed) with one return code per filter.
    ///
    /// On a 5.0 connection (feature `v5`) the filters are checked as `subscribe_with` checks
    /// them: a shared subscription must be well-formed, and a wildcard or shared one is
    /// [`CommandError::NotAvailableOnServer`] when the broker's CONNACK said so.
    pub fn subscribe(
        &mut self,
        now: Instant,
        filters: &[(&str, QoS)],
    ) -> Result<PacketId, CommandError> {
        self.settle();
        self.clamp(now);
        #[cfg(feature = "v5")]
        if self.v5.on {
            for (f, _) in filters {
                self.check_filter_v5(f, false)?;
            }
        }
        // Saturating (a filter may be repeated): past `usize::MAX` is past the format's limit.
        let body = filters.iter().fold(self.request_header(), |n, (f, _)| {
            n.saturating_add(f.len()).saturating_add(3)
        });
        let slot = self.check_request(filters.iter().map(|(f, _)| *f), body)?;
        let packet_id = self
            .allocate_id()
            .ok_or(CommandError::TooManyPendingRequests)?;
        self.write_request(0x82, packet_id, body, |w| {
            for (f, qos) in filters {
                w.string(f);
                w.u8(qos.as_u8());
            }
        });
        self.set_pending(
            slot,
            Request::Subscribe {
                packet_id,
                filters: filters.len(),
            },
        );
        Ok(packet_id)
    }

    /// Command: unsubscribe from one or more filters in one UNSUBSCRIBE. Needs
    /// [`State::Connected`]. Acknowledged by
    /// [`Event::Unsubscribed`](crate::Event::Unsubscribed).
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        filters: &[&str],
    ) -> Result<PacketId, CommandError> {
        self.settle();
        self.clamp(now);
        let body = filters.iter().fold(self.request_header(), |n, f| {
            n.saturating_add(f.len()).saturating_add(2)
        });
        let slot = self.check_request(filters.iter().copied(), body)?;
        let packet_id = self
            .allocate_id()
            .ok_or(CommandError::TooManyPendingRequests)?;
        self.write_request(0xA2, packet_id, body, |w| {
            for f in filters {
                w.string(f);
            }
        });
        self.set_pending(
            slot,
            Request::Unsubscribe {
                packet_id,
                filters: filters.len(),
            },
        );
        Ok(packet_id)
    }

    /// Everything a SUBSCRIBE/UNSUBSCRIBE command checks before changing anything; returns the
    /// free pending-request slot.
    pub(crate) fn check_request<'f>(
        &mut self,
        filters: impl Iterator<Item = &'f str> + Clone,
        body: usize,
    ) -> Result<usize, CommandError> {
        if self.state != State::Connected {
            return Err(CommandError::NotConnected);
        }
        if filters.clone().next().is_none() {
            return Err(CommandError::NoFilters);
        }
        for f in filters {
            let _filter = TopicFilter::new(f).map_err(CommandError::Invalid)?;
            // 5.0: a filter starting with "$share/" is a Shared Subscription, whose form is
            // checked [MQTT-4.8.2-1, MQTT-4.8.2-2].
            #[cfg(feature = "v5")]
            if self.v5.on {
                mqtt_proto::v5::shared_subscription(_filter).map_err(CommandError::Invalid)?;
            }
        }
        let required = wire::total_len(body).ok_or(CommandError::PacketTooLarge {
            required: body.saturating_add(5),
        })?;
        if required > self.tx_capacity() {
            return Err(CommandError::PacketTooLarge { required });
        }
        #[cfg(feature = "v5")]
        self.check_server_size(required)?;
        if !self.may_send_new() || self.tx_free() < required {
            return Err(CommandError::TransmitBufferFull { required });
        }
        self.pending
            .iter()
            .position(Option::is_none)
            .ok_or(CommandError::TooManyPendingRequests)
    }

    pub(crate) fn write_request(
        &mut self,
        first: u8,
        packet_id: PacketId,
        body: usize,
        payload: impl FnOnce(&mut wire::Out<'_>),
    ) {
        let Some(total) = wire::total_len(body) else {
            return;
        };
        let empty_properties = self.request_header() == 3 && !self.request_properties;
        let Some(dst) = self.tx_reserve(total) else {
            return;
        };
        let mut w = wire::Out::new(dst);
        w.u8(first);
        w.remaining_length(body);
        w.u16(packet_id.get());
        if empty_properties {
            // 5.0: Property Length 0, no SUBSCRIBE/UNSUBSCRIBE properties.
            w.u8(0);
        }
        payload(&mut w);
        self.tx_tail += total;
    }

    /// Bytes of a SUBSCRIBE/UNSUBSCRIBE variable header: the packet identifier, and on a 5.0
    /// connection an empty property list.
    pub(crate) fn request_header(&self) -> usize {
        #[cfg(feature = "v5")]
        if self.v5.on {
            return 3;
        }
        2
    }

    pub(crate) fn set_pending(&mut self, slot: usize, request: Request) {
        if let Some(s) = self.pending.get_mut(slot) {
            if s.is_none() {
                self.pending_count += 1;
            }
            *s = Some(request);
        }
    }

    /// SUBACK: must match a pending SUBSCRIBE, with one code per filter [MQTT-3.8.4-5].
    pub(crate) fn on_suback(&mut self, id: PacketId, codes: (usize, usize)) {
        let found = self.pending.iter().position(
            |r| matches!(r, Some(Request::Subscribe { packet_id, .. }) if *packet_id == id),
        );
        let Some(slot) = found else {
            return self.violation(Violation::UnexpectedSubAck(id));
        };
        let expected = match self.pending.get(slot) {
            Some(Some(Request::Subscribe { filters, .. })) => *filters,
            _ => 0,
        };
        let received = codes.1.saturating_sub(codes.0);
        if received != expected {
            return self.violation(Violation::SubAckCountMismatch { expected, received });
        }
        self.set_pending_none(slot);
        self.push_packet_event(EventRepr::Subscribed {
            packet_id: id,
            codes,
        });
    }

    /// UNSUBACK: must match a pending UNSUBSCRIBE.
    pub(crate) fn on_unsuback(&mut self, id: PacketId) {
        let found = self.pending.iter().position(
            |r| matches!(r, Some(Request::Unsubscribe { packet_id, .. }) if *packet_id == id),
        );
        match found {
            Some(slot) => {
                self.set_pending_none(slot);
                self.push_packet_event(EventRepr::Unsubscribed(id));
            }
            None => self.violation(Violation::UnexpectedUnsubAck(id)),
        }
    }

    fn set_pending_none(&mut self, slot: usize) {
        if let Some(s) = self.pending.get_mut(slot) {
            if s.take().is_some() {
                self.pending_count = self.pending_count.saturating_sub(1);
            }
        }
    }
}
