//! The blocking client's MQTT 5.0 commands (see [`crate::v5`]).

use mqtt_proto::QoS;

use super::client::Client;
use super::pending::{Pending, Slot};
use crate::core::CloseKind;
use crate::error::Error;
use crate::v5::{
    DisconnectProperties, DisconnectReasonCode, PubAck, PublishProperties, SubAckReasonCode,
    SubscribeOptions, UnsubAckReasonCode,
};

impl Client {
    /// Publishes a message with 5.0 properties; otherwise as [`Client::publish`]. Empty
    /// properties publish as `publish` does, on either version; properties on a 3.1.1
    /// connection are [`Error::RequiresV5`].
    ///
    /// ```no_run
    /// use mqtt_std::v5::PublishProperties;
    /// use mqtt_std::{Client, ClientOptions, ConnectOptions, ProtocolVersion, QoS};
    ///
    /// let client = Client::new(ClientOptions::new("sensor-17"))?;
    /// client.connect("localhost", 1883, &ConnectOptions::default().protocol(ProtocolVersion::V5))?;
    /// let props = PublishProperties::new()
    ///     .content_type("application/json")
    ///     .user_property("unit", "celsius");
    /// client
    ///     .publish_with("sensors/17/temp", b"{\"t\":21.5}", QoS::AtMostOnce, false, &props)?
    ///     .wait()?;
    /// # Ok::<(), mqtt_std::Error>(())
    /// ```
    ///
    /// Errors besides `publish`'s: [`Error::Invalid`] for a Response Topic that is not a
    /// topic name, [`Error::Command`] for a Subscription Identifier (the broker sets those)
    /// or a packet above the broker's Maximum Packet Size.
    pub fn publish_with(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &PublishProperties,
    ) -> Result<Pending<()>, Error> {
        let list = properties.to_list().map_err(Error::Invalid)?;
        let (id, mut st) =
            self.command(|st, now| st.c.publish_with(now, topic, payload, qos, retain, &list))?;
        let slot = Slot::new();
        st.c.register_publish(id, slot.clone());
        Ok(self.pending(slot, id))
    }

    /// Publishes as [`Client::publish_with`], and gives the broker's answer: the reason code,
    /// Reason String and User Properties of its PUBACK (QoS 1) or PUBREC (QoS 2), once the
    /// flow is complete. A refusal (code 0x80 or more) is an answer too, not an error: check
    /// [`PubAckReasonCode::is_error`](crate::v5::PubAckReasonCode::is_error). QoS 0 and a
    /// 3.1.1 connection (whose acknowledgements carry no code) read
    /// [`PubAckReasonCode::Success`](crate::v5::PubAckReasonCode::Success).
    ///
    /// ```no_run
    /// use mqtt_std::v5::PublishProperties;
    /// use mqtt_std::{Client, ClientOptions, ConnectOptions, ProtocolVersion, QoS};
    ///
    /// let client = Client::new(ClientOptions::new("sensor-17"))?;
    /// client.connect("localhost", 1883, &ConnectOptions::default().protocol(ProtocolVersion::V5))?;
    /// let answer = client
    ///     .publish_v5("sensors/17/temp", b"21.5", QoS::AtLeastOnce, false, &PublishProperties::new())?
    ///     .wait()?;
    /// if answer.reason_code.is_error() {
    ///     eprintln!("refused: {} {:?}", answer.reason_code, answer.reason_string);
    /// }
    /// # Ok::<(), mqtt_std::Error>(())
    /// ```
    ///
    /// Errors: those of `publish_with`, and for the [`Pending`] those of [`Client::publish`]'s
    /// besides [`Error::PublishRejected`].
    pub fn publish_v5(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &PublishProperties,
    ) -> Result<Pending<PubAck>, Error> {
        let list = properties.to_list().map_err(Error::Invalid)?;
        let (id, mut st) =
            self.command(|st, now| st.c.publish_with(now, topic, payload, qos, retain, &list))?;
        let slot = Slot::new();
        st.c.register_publish5(id, slot.clone());
        Ok(self.pending(slot, id))
    }

    /// Subscribes with 5.0 Subscription Options per filter (No Local, Retain As Published,
    /// Retain Handling) and an optional Subscription Identifier (it comes back in
    /// [`PublishProperties::subscription_identifiers`] of the messages it matches). The
    /// [`Pending`] gives one SUBACK reason code per filter: granted QoS 0, 1 or 2, or the
    /// broker's refusal (0x80 or more, e.g. 0x87 "not authorized", 0x9E "shared
    /// subscriptions not supported").
    ///
    /// On a 3.1.1 connection, filters with no option but the QoS subscribe as
    /// [`Client::subscribe`] does (3.1.1's 0x80 failure reads as
    /// [`SubAckReasonCode::UnspecifiedError`]); anything more is [`Error::RequiresV5`].
    pub fn subscribe_with(
        &self,
        filters: &[(&str, SubscribeOptions)],
        subscription_id: Option<u32>,
    ) -> Result<Pending<Vec<SubAckReasonCode>>, Error> {
        let (id, mut st) =
            self.command(|st, now| st.c.subscribe_with(now, filters, subscription_id))?;
        let slot = Slot::new();
        st.c.register_subscribe5(id, filters, subscription_id, slot.clone());
        Ok(self.pending(slot, Some(id)))
    }

    /// Unsubscribes as [`Client::unsubscribe`], and gives one UNSUBACK reason code per
    /// filter: 0x00 success, 0x11 "no subscription existed", or a refusal (0x80 or more).
    /// A 3.1.1 UNSUBACK carries no codes: each filter then reads
    /// [`UnsubAckReasonCode::Success`].
    pub fn unsubscribe_v5(
        &self,
        filters: &[&str],
    ) -> Result<Pending<Vec<UnsubAckReasonCode>>, Error> {
        let (id, mut st) = self.command(|st, now| st.c.session.unsubscribe(now, filters))?;
        let slot = Slot::new();
        st.c.register_unsubscribe5(id, filters, slot.clone());
        Ok(self.pending(slot, Some(id)))
    }

    /// Starts a 5.0 re-authentication (section 4.12.1) with the CONNECT's Authentication
    /// Method ([`ConnectOptions::authentication`](crate::ConnectOptions::authentication)) and
    /// this Authentication Data; the broker's challenges go to the
    /// [handler](crate::ClientOptions::authentication), and the [`Pending`] completes on the
    /// broker's AUTH 0x00 Success. A broker that refuses sends DISCONNECT: the `Pending`
    /// fails with [`Error::ConnectionLost`].
    ///
    /// Errors: [`Error::NotConnected`], [`Error::RequiresV5`], [`Error::Command`] with
    /// [`NoAuthMethod`](mqtt_session::CommandError::NoAuthMethod) when the CONNECT had no
    /// method, [`AuthInProgress`](mqtt_session::CommandError::AuthInProgress) while one is
    /// under way.
    pub fn reauthenticate(&self, data: Option<&[u8]>) -> Result<Pending<()>, Error> {
        let ((), mut st) = self.command(|st, now| st.c.session.reauthenticate(now, data))?;
        let slot = Slot::new();
        st.c.reauth = Some(slot.clone());
        Ok(self.pending(slot, None))
    }

    /// 5.0 request/response (section 4.10): publishes `payload` to `topic` with a Response
    /// Topic and a fresh Correlation Data (16 random bytes), and waits up to `timeout` for the
    /// message on `response_topic` that carries the same Correlation Data, which it returns
    /// (it does not go to the receive queue). The first request with a response topic on a
    /// connection subscribes to it (QoS 1, No Local); other messages on it are queued as
    /// usual. `properties` are sent too (its Response Topic and Correlation Data are
    /// replaced).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mqtt_std::v5::PublishProperties;
    /// use mqtt_std::{Client, ClientOptions, ConnectOptions, ProtocolVersion, QoS};
    ///
    /// let client = Client::new(ClientOptions::new("asker"))?;
    /// client.connect("localhost", 1883, &ConnectOptions::default().protocol(ProtocolVersion::V5))?;
    /// let answer = client.request(
    ///     "svc/time",
    ///     b"now?",
    ///     QoS::AtMostOnce,
    ///     "asker/replies",
    ///     &PublishProperties::new(),
    ///     Duration::from_secs(5),
    /// )?;
    /// println!("{}", String::from_utf8_lossy(&answer.payload));
    /// # Ok::<(), mqtt_std::Error>(())
    /// ```
    ///
    /// Errors: [`Error::Timeout`] when no response came in time, [`Error::RequiresV5`] on a
    /// 3.1.1 connection, and those of `subscribe_with` and `publish_with`.
    pub fn request(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        response_topic: &str,
        properties: &PublishProperties,
        timeout: std::time::Duration,
    ) -> Result<crate::Message, Error> {
        let deadline = std::time::Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        let first = self.shared().lock().c.request_start(response_topic)?;
        if let Some(subscription) = first {
            let codes = self
                .subscribe_with(&subscription, None)?
                .wait_timeout(left())?;
            self.shared()
                .lock()
                .c
                .response_subscribed(response_topic, &codes)?;
        }
        let (correlation, props) = crate::v5::request_properties(properties, response_topic);
        let slot = Slot::new();
        self.shared()
            .lock()
            .c
            .requests
            .insert(correlation.clone(), slot.clone());
        let answer = self.pending(slot, None);
        let sent = self
            .publish_with(topic, payload, qos, false, &props)
            .and_then(|p| p.wait_timeout(left()));
        let r = sent.and_then(|()| answer.wait_timeout(left()));
        self.shared().lock().c.requests.remove(&correlation);
        r
    }

    /// Sends a 5.0 DISCONNECT with this reason code and, if given, a new Session Expiry
    /// Interval, then closes as [`Client::disconnect`] does.
    /// [`DisconnectReasonCode::DisconnectWithWillMessage`] (0x04) asks the broker to publish
    /// the will all the same.
    ///
    /// Errors: [`Error::RequiresV5`] on a 3.1.1 connection, [`Error::Command`] with
    /// [`SessionExpiryAfterZero`](mqtt_session::CommandError::SessionExpiryAfterZero) for a
    /// non-zero Session Expiry Interval when the CONNECT's was 0 [MQTT-3.14.2-2], and
    /// `disconnect`'s.
    pub fn disconnect_with(
        &self,
        reason_code: DisconnectReasonCode,
        session_expiry: Option<u32>,
    ) -> Result<(), Error> {
        let props = DisconnectProperties {
            session_expiry_interval: session_expiry,
            ..DisconnectProperties::default()
        };
        self.disconnect_with_properties(reason_code, &props)
    }

    /// As [`Client::disconnect_with`], with a Reason String and User Properties besides the
    /// Session Expiry Interval.
    ///
    /// ```no_run
    /// use mqtt_std::v5::{DisconnectProperties, DisconnectReasonCode};
    /// use mqtt_std::{Client, ClientOptions, ConnectOptions, ProtocolVersion};
    ///
    /// let client = Client::new(ClientOptions::new("gw-4"))?;
    /// client.connect("localhost", 1883, &ConnectOptions::default().protocol(ProtocolVersion::V5))?;
    /// client.disconnect_with_properties(
    ///     DisconnectReasonCode::NormalDisconnection,
    ///     &DisconnectProperties::new().reason_string("maintenance"),
    /// )?;
    /// # Ok::<(), mqtt_std::Error>(())
    /// ```
    ///
    /// Errors besides `disconnect_with`'s: [`Error::Command`] with
    /// [`PacketTooLargeForServer`](mqtt_session::CommandError::PacketTooLargeForServer) when
    /// the properties make the DISCONNECT larger than the broker's Maximum Packet Size
    /// [MQTT-3.14.2-3, MQTT-3.14.2-4] (nothing is sent; the connection stays up).
    pub fn disconnect_with_properties(
        &self,
        reason_code: DisconnectReasonCode,
        properties: &DisconnectProperties,
    ) -> Result<(), Error> {
        self.shared()
            .lock()
            .c
            .check_disconnect(reason_code, properties)?;
        self.close_connection(CloseKind::Disconnect(Some(Box::new((
            reason_code,
            properties.clone(),
        )))))
    }
}
