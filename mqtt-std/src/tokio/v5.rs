//! The tokio client's MQTT 5.0 commands (see [`crate::v5`]).

use ::tokio::sync::oneshot;
use mqtt_proto::QoS;

use super::Client;
use crate::core::CloseKind;
use crate::error::Error;
use crate::v5::{
    DisconnectReasonCode, PublishProperties, SubAckReasonCode, SubscribeOptions, UnsubAckReasonCode,
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

    /// Sends a 5.0 DISCONNECT with this reason code and, if given, a new Session Expiry
    /// Interval, then closes (see the blocking
    /// [`Client::disconnect_with`](crate::Client::disconnect_with)).
    pub async fn disconnect_with(
        &self,
        reason_code: DisconnectReasonCode,
        session_expiry: Option<u32>,
    ) -> Result<(), Error> {
        self.shared().lock().check_disconnect(session_expiry)?;
        self.close_connection(CloseKind::Disconnect(Some((reason_code, session_expiry))))
            .await
    }
}
