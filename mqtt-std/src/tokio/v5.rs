//! The tokio client's MQTT 5.0 commands (see [`crate::v5`]).

use ::tokio::sync::oneshot;
use mqtt_proto::QoS;

use super::Client;
use crate::core::CloseKind;
use crate::error::Error;
use crate::v5::{
    DisconnectProperties, DisconnectReasonCode, PubAck, PublishProperties, SubAckReasonCode,
    SubscribeOptions, UnsubAckReasonCode,
};

impl Client {
    /// Publishes a message with 5.0 properties and resolves when its flow is complete; as
    /// [`Client::publish`] otherwise, and as the blocking
    /// [`Client::publish_with`](crate::Client::publish_with) for the errors.
    pub async fn publish_with(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &PublishProperties,
    ) -> Result<(), Error> {
        let list = properties.to_list().map_err(Error::Invalid)?;
        let done = self
            .command(
                |st, now| st.publish_with(now, topic, payload, qos, retain, &list),
                |st, id| {
                    let (tx, rx) = oneshot::channel();
                    st.register_publish(id, tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// Publishes as [`Client::publish_with`] and resolves with the broker's answer once the
    /// flow is complete: the reason code, Reason String and User Properties of its PUBACK or
    /// PUBREC, a refusal included (see the blocking
    /// [`Client::publish_v5`](crate::Client::publish_v5)).
    pub async fn publish_v5(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &PublishProperties,
    ) -> Result<PubAck, Error> {
        let list = properties.to_list().map_err(Error::Invalid)?;
        let done = self
            .command(
                |st, now| st.publish_with(now, topic, payload, qos, retain, &list),
                |st, id| {
                    let (tx, rx) = oneshot::channel();
                    st.register_publish5(id, tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// Subscribes with 5.0 Subscription Options and an optional Subscription Identifier;
    /// resolves with one SUBACK reason code per filter (see the blocking
    /// [`Client::subscribe_with`](crate::Client::subscribe_with)).
    pub async fn subscribe_with(
        &self,
        filters: &[(&str, SubscribeOptions)],
        subscription_id: Option<u32>,
    ) -> Result<Vec<SubAckReasonCode>, Error> {
        let done = self
            .command(
                |st, now| st.subscribe_with(now, filters, subscription_id),
                |st, id| {
                    let (tx, rx) = oneshot::channel();
                    st.register_subscribe5(id, filters, subscription_id, tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// Unsubscribes and resolves with one UNSUBACK reason code per filter (see the blocking
    /// [`Client::unsubscribe_v5`](crate::Client::unsubscribe_v5)).
    pub async fn unsubscribe_v5(&self, filters: &[&str]) -> Result<Vec<UnsubAckReasonCode>, Error> {
        let done = self
            .command(
                |st, now| st.session.unsubscribe(now, filters),
                |st, id| {
                    let (tx, rx) = oneshot::channel();
                    st.register_unsubscribe5(id, filters, tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// Starts a 5.0 re-authentication and resolves on the broker's AUTH 0x00 Success (see the
    /// blocking [`Client::reauthenticate`](crate::Client::reauthenticate)).
    pub async fn reauthenticate(&self, data: Option<&[u8]>) -> Result<(), Error> {
        let done = self
            .command(
                |st, now| st.session.reauthenticate(now, data),
                |st, ()| {
                    let (tx, rx) = oneshot::channel();
                    st.reauth = Some(tx);
                    rx
                },
            )
            .await?;
        done.await.unwrap_or(Err(Error::Closed))
    }

    /// 5.0 request/response: publishes with a Response Topic and fresh Correlation Data and
    /// resolves with the matching response (see the blocking
    /// [`Client::request`](crate::Client::request)).
    pub async fn request(
        &self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        response_topic: &str,
        properties: &PublishProperties,
        timeout: std::time::Duration,
    ) -> Result<crate::Message, Error> {
        let first = self.shared().lock().request_start(response_topic)?;
        let (correlation, props) = crate::v5::request_properties(properties, response_topic);
        let work = async {
            if let Some(subscription) = first {
                let codes = self.subscribe_with(&subscription, None).await?;
                self.shared()
                    .lock()
                    .response_subscribed(response_topic, &codes)?;
            }
            let (tx, rx) = oneshot::channel();
            self.shared()
                .lock()
                .requests
                .insert(correlation.clone(), tx);
            self.publish_with(topic, payload, qos, false, &props)
                .await?;
            rx.await.unwrap_or(Err(Error::Closed))
        };
        let r = match ::tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout),
        };
        self.shared().lock().requests.remove(&correlation);
        r
    }

    /// Sends a 5.0 DISCONNECT with this reason code and, if given, a new Session Expiry
    /// Interval, then closes (see the blocking
    /// [`Client::disconnect_with`](crate::Client::disconnect_with)).
    pub async fn disconnect_with(
        &self,
        reason_code: DisconnectReasonCode,
        session_expiry: Option<u32>,
    ) -> Result<(), Error> {
        let props = DisconnectProperties {
            session_expiry_interval: session_expiry,
            ..DisconnectProperties::default()
        };
        self.disconnect_with_properties(reason_code, &props).await
    }

    /// As [`Client::disconnect_with`], with a Reason String and User Properties besides the
    /// Session Expiry Interval (see the blocking
    /// [`Client::disconnect_with_properties`](crate::Client::disconnect_with_properties)).
    pub async fn disconnect_with_properties(
        &self,
        reason_code: DisconnectReasonCode,
        properties: &DisconnectProperties,
    ) -> Result<(), Error> {
        self.shared()
            .lock()
            .check_disconnect(reason_code, properties)?;
        self.close_connection(CloseKind::Disconnect(Some(Box::new((
            reason_code,
            properties.clone(),
        )))))
        .await
    }
}
