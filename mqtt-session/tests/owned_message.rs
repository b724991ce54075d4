//! `Message::to_owned`: an owned copy ends the borrow of the session, so the application can
//! call the session in reaction to a message.
#![cfg(feature = "alloc")]
#![allow(clippy::unwrap_used)]

use mqtt_session::{
    Config, ConnectOptions, Event, Instant, Message, OwnedMessage, PacketId, QoS, Session, VecStore,
};

fn connected() -> (Session<VecStore, Vec<u8>>, Vec<u8>) {
    let mut session = Session::new(
        Config::default(),
        VecStore::new(),
        vec![0u8; 512],
        vec![0u8; 512],
    );
    let mut out = vec![0u8; 512];
    let now = Instant::ZERO;
    session.handle_transport_up(now);
    session.connect(now, &ConnectOptions::new("owner")).unwrap();
    assert!(session.poll_transmit(now, &mut out).unwrap().is_some());
    assert_eq!(session.handle_receive(now, &[0x20, 0x02, 0x00, 0x00]), 4);
    assert_eq!(
        session.poll_event(),
        Some(Event::Connected {
            session_present: false
        })
    );
    (session, out)
}

fn id(n: u16) -> PacketId {
    PacketId(core::num::NonZeroU16::new(n).unwrap())
}

#[test]
fn to_owned_copies_every_field() {
    let (mut session, _) = connected();
    // PUBLISH QoS 1, DUP and RETAIN set, id 9, topic "a/b", payload "xyz".
    session.handle_receive(Instant::ZERO, b"\x3b\x0a\x00\x03a/b\x00\x09xyz");
    let owned = match session.poll_event() {
        Some(Event::Message(m)) => m.to_owned(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        owned,
        OwnedMessage {
            topic: "a/b".into(),
            payload: b"xyz".to_vec(),
            qos: QoS::AtLeastOnce,
            retain: true,
            dup: true,
            packet_id: Some(id(9)),
        }
    );
    let back: Message<'_> = owned.as_message();
    assert_eq!(back.to_owned(), owned);
    assert_eq!(OwnedMessage::from(back), owned);
}

#[test]
fn an_owned_message_outlives_the_receive_buffer() {
    let (mut session, mut out) = connected();
    let now = Instant::ZERO;
    session.handle_receive(now, b"\x30\x06\x00\x01aone");
    let first = match session.poll_event() {
        Some(Event::Message(m)) => m.to_owned(),
        other => panic!("{other:?}"),
    };
    // The next message reuses the receive buffer; the copy is unaffected.
    session.handle_receive(now, b"\x30\x06\x00\x01btwo");
    match session.poll_event() {
        Some(Event::Message(m)) => assert_eq!((m.topic, m.payload), ("b", &b"two"[..])),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (first.topic.as_str(), &first.payload[..]),
        ("a", &b"one"[..])
    );
    assert_eq!((first.qos, first.packet_id), (QoS::AtMostOnce, None));

    // And it can be published in reaction, which a borrowed `Message` cannot.
    session
        .publish(now, &first.topic, &first.payload, QoS::AtMostOnce, false)
        .unwrap();
    let n = session.poll_transmit(now, &mut out).unwrap().unwrap();
    assert_eq!(&out[..n], b"\x30\x06\x00\x01aone");
}
