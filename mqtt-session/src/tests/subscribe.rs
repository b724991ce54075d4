//! SUBSCRIBE / UNSUBSCRIBE and their acknowledgements.

use std::string::ToString;
use std::vec::Vec;

use insta::assert_snapshot;
use mqtt_proto::QoS;

use super::harness::*;
use crate::{CommandError, DisconnectReason, Violation};

#[test]
fn subscribe_many_filters_with_a_failure_and_unsubscribe() {
    let mut h = Harness::new();
    h.connected();
    let id =
        h.s.subscribe(
            h.now,
            &[
                ("a/+", QoS::AtMostOnce),
                ("b/#", QoS::AtLeastOnce),
                ("$SYS/x", QoS::ExactlyOnce),
            ],
        )
        .unwrap();
    h.pump();
    h.recv(&suback(id.get(), &[0, 1, 0x80]));
    let id = h.s.unsubscribe(h.now, &["a/+", "b/#"]).unwrap();
    h.pump();
    h.recv(&unsuback(id.get()));
    assert_snapshot!(h.log);
}

#[test]
fn suback_with_wrong_number_of_codes_is_a_violation() {
    let mut h = Harness::new();
    h.connected();
    let id =
        h.s.subscribe(h.now, &[("a", QoS::AtMostOnce), ("b", QoS::AtMostOnce)])
            .unwrap();
    h.pump();
    h.s.handle_receive(h.now, &suback(id.get(), &[0]));
    let reason = disconnect_reason(&mut h);
    assert_eq!(
        reason,
        DisconnectReason::ProtocolViolation(Violation::SubAckCountMismatch {
            expected: 2,
            received: 1
        })
    );
    assert_eq!(
        DisconnectReason::ProtocolViolation(Violation::SubAckCountMismatch {
            expected: 2,
            received: 1
        })
        .to_string(),
        "protocol violation by the broker: SUBACK with 1 return codes for 2 filters [MQTT-3.8.4-5]"
    );
}

#[test]
fn too_many_pending_requests_is_refused() {
    let mut h = Harness::new();
    h.connected();
    for _ in 0..crate::Session::<crate::VecStore, Vec<u8>>::MAX_PENDING_REQUESTS {
        h.s.subscribe(h.now, &[("a", QoS::AtMostOnce)]).unwrap();
        h.pump();
    }
    assert_eq!(
        h.s.subscribe(h.now, &[("a", QoS::AtMostOnce)]),
        Err(CommandError::TooManyPendingRequests)
    );
}
