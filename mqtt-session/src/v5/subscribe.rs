//! 5.0 SUBSCRIBE with subscription options and properties.

use mqtt_proto::v5::{Properties, PropertyContext, PropertyId, SubscriptionOptions};
use mqtt_proto::{DecodeError, PacketId, TopicFilter};

use crate::error::CommandError;
use crate::session::{Buffer, Request, Session};
use crate::store::Store;
use crate::time::Instant;

impl<S: Store, B: Buffer> Session<S, B> {
    /// The 5.0 rules of one filter of a SUBSCRIBE, from `subscribe_with` or `subscribe`: a
    /// shared subscription well-formed [MQTT-4.8.2-1, MQTT-4.8.2-2] and without No Local
    /// [MQTT-3.8.3-4], and nothing the broker's CONNACK said it does not offer (a Protocol
    /// Error, section 3.2.2.3).
    pub(crate) fn check_filter_v5(&self, f: &str, no_local: bool) -> Result<(), CommandError> {
        let server = &self.v5.server;
        let filter = TopicFilter::new(f).map_err(CommandError::Invalid)?;
        let shared = mqtt_proto::v5::shared_subscription(filter).map_err(CommandError::Invalid)?;
        if shared && no_local {
            return Err(CommandError::Invalid(
                DecodeError::NoLocalOnSharedSubscription,
            ));
        }
        if (shared && !server.shared_subscription_available)
            || (f.contains(['+', '#']) && !server.wildcard_subscription_available)
        {
            return Err(CommandError::NotAvailableOnServer);
        }
        Ok(())
    }

    /// Command (5.0): subscribe with Subscription Options per filter (maximum QoS, No Local,
    /// Retain As Published, Retain Handling) and SUBSCRIBE properties (a Subscription
    /// Identifier, which then comes back in the properties of matching messages, and User
    /// Properties). Shared subscriptions (`$share/{name}/{filter}`) are checked for their form
    /// [MQTT-4.8.2-1, MQTT-4.8.2-2]. The result arrives as
    /// [`Event::Subscribed`](crate::Event::Subscribed) (one 5.0 reason code per filter in
    /// [`SubscribeResults::as_bytes`](crate::SubscribeResults::as_bytes)).
    ///
    /// Errors besides [`Session::subscribe`]'s: [`CommandError::RequiresV5`] on a 3.1.1
    /// connection, [`CommandError::Invalid`] for No Local on a shared subscription
    /// [MQTT-3.8.3-4], a malformed shared filter or a property not allowed in SUBSCRIBE,
    /// [`CommandError::NotAvailableOnServer`] for a wildcard filter, a shared subscription or a
    /// Subscription Identifier the broker's CONNACK said it does not offer,
    /// [`CommandError::PacketTooLargeForServer`] above its Maximum Packet Size.
    pub fn subscribe_with(
        &mut self,
        now: Instant,
        filters: &[(&str, SubscriptionOptions)],
        properties: &Properties<'_>,
    ) -> Result<PacketId, CommandError> {
        self.settle();
        self.clamp(now);
        if !self.v5.on {
            return Err(CommandError::RequiresV5);
        }
        let props = properties
            .validate(PropertyContext::Subscribe)
            .map_err(CommandError::Invalid)?;
        let server = self.v5.server;
        if properties.contains(PropertyId::SubscriptionIdentifier)
            && !server.subscription_identifiers_available
        {
            return Err(CommandError::NotAvailableOnServer);
        }
        for (f, o) in filters {
            self.check_filter_v5(f, o.no_local)?;
        }
        // Packet identifier, properties (with their length), then (filter, options) pairs.
        let body = filters
            .iter()
            .fold(2usize.saturating_add(props), |n, (f, _)| {
                n.saturating_add(f.len()).saturating_add(3)
            });
        let slot = self.check_request(filters.iter().map(|(f, _)| *f), body)?;
        let packet_id = self
            .allocate_id()
            .ok_or(CommandError::TooManyPendingRequests)?;
        self.request_properties = true;
        self.write_request(0x82, packet_id, body, |w| {
            let at = w.position();
            if let Some(dst) = w.buffer().get_mut(at..) {
                let _ = properties.encode(PropertyContext::Subscribe, dst);
            }
            w.skip(props);
            for (f, o) in filters {
                w.string(f);
                w.u8(o.as_u8());
            }
        });
        self.request_properties = false;
        self.set_pending(
            slot,
            Request::Subscribe {
                packet_id,
                filters: filters.len(),
            },
        );
        Ok(packet_id)
    }
}
