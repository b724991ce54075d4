//! MQTT 5.0 session state across a CONNECT with Clean Start 1 whose connection ends before
//! CONNACK.

use std::string::String;
use std::vec::Vec;

use mqtt_proto::v5::{Properties, Property};

use crate::tests::v5::{CONNACK, T0, events, out, session};
use crate::{Config, ConnectOptionsV5, State};

const PRESENT: &[u8] = &[0x20, 0x03, 0x01, 0x00, 0x00];

#[test]
fn mqtt5_3_2_2_4_session_present_after_an_unconfirmed_clean_start_closes() {
    // A session with a Session Expiry Interval, then a CONNECT with Clean Start 1 whose
    // connection ends before CONNACK: the client discarded its session there [MQTT-3.1.2-4].
    // Whether the broker got that CONNECT (and holds a new, empty session) or not (and still
    // holds the old one, whose state the client no longer has) the client cannot tell, so
    // Session Present 1 on the next Clean Start 0 finds it without the state to resume: it
    // closes with DISCONNECT 0x82 [MQTT-3.2.2-4], written or not. Resuming would take the
    // old session's QoS 2 flows as new ones: a duplicate delivery. The application connects
    // with Clean Start 1 until a CONNACK accepts a connection.
    for written in [true, false] {
        let expiry = [Property::SessionExpiryInterval(60)];
        let mut keep = ConnectOptionsV5::new("c");
        keep.options.clean_session = false;
        keep.properties = Properties::new(&expiry);
        let mut clean = keep;
        clean.options.clean_session = true;
        let mut s = session(Config::default());
        s.handle_transport_up(T0);
        s.connect(T0, &keep).unwrap();
        out(&mut s, T0);
        s.handle_receive(T0, CONNACK);
        events(&mut s);
        s.handle_transport_closed(T0);
        s.handle_transport_up(T0);
        s.connect(T0, &clean).unwrap();
        if written {
            assert!(!out(&mut s, T0).is_empty(), "the CONNECT is written");
        }
        s.handle_transport_closed(T0);
        events(&mut s);
        s.handle_transport_up(T0);
        s.connect(T0, &keep).unwrap();
        out(&mut s, T0);
        s.handle_receive(T0, PRESENT);
        assert_eq!(events(&mut s), ["CONNACK [00]"], "written={written}");
        let sent: Vec<u8> = out(&mut s, T0);
        assert_eq!(sent, [0xE0, 0x01, 0x82], "written={written}");
        assert_eq!(
            events(&mut s),
            [String::from(
                "Disconnected { reason: ProtocolViolation(SessionPresentWithoutSession) }"
            )],
            "written={written}"
        );
        assert_eq!(s.state(), State::Closed);
        // A Clean Start 1 connection is then accepted with Session Present 0.
        s.handle_transport_closed(T0);
        s.handle_transport_up(T0);
        s.connect(T0, &clean).unwrap();
        out(&mut s, T0);
        s.handle_receive(T0, CONNACK);
        assert_eq!(
            events(&mut s),
            ["CONNACK [00]", "Connected { session_present: false }"]
        );
    }
}
