//! The embedded clients at MQTT 5.0 against a scripted in-process peer with virtual time: exact
//! bytes on the wire, written by hand from the standard; refusals; enhanced authentication; the
//! output-buffer check of `publish_with` (Property Length, properties, topic aliases).
#![cfg(feature = "v5")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{ScriptedPeer, VirtualDelay, VirtualTime, block_on};
use mqtt_embedded::{
    Buffers, CommandError, Config, ConnectOptions, ConnectOptionsV5, ConnectReasonCode,
    DisconnectOptions, DisconnectReason, DisconnectReasonCode, Error, Event, FixedStore, Instant,
    Memory, Properties, Property, PubAckReasonCode, QoS, Store, asynch, blocking,
};

type Store4 = FixedStore<4, 1024>;
type Mem = Memory<512, 256, 512>;
type AsyncClient<'a, Clk> = asynch::Client<'a, ScriptedPeer, Store4, Clk, VirtualDelay>;
type BlockingClient<'a, Clk> = blocking::Client<'a, ScriptedPeer, Store4, Clk, VirtualDelay>;

fn async_client<'a>(
    buffers: Buffers<'a>,
    config: Config,
    time: &VirtualTime,
) -> AsyncClient<'a, impl Fn() -> Instant + use<>> {
    let mut client =
        asynch::Client::new(config, Store4::new(), buffers, time.clock(), time.delay());
    client.set_max_wait(Some(std::time::Duration::from_secs(1)));
    client
}

fn blocking_client<'a>(
    buffers: Buffers<'a>,
    config: Config,
    time: &VirtualTime,
) -> BlockingClient<'a, impl Fn() -> Instant + use<>> {
    let mut client =
        blocking::Client::new(config, Store4::new(), buffers, time.clock(), time.delay());
    client.set_max_wait(Some(std::time::Duration::from_secs(1)));
    client
}

/// 5.0 CONNACK: accepted, no session present, no properties.
const CONNACK: [u8; 5] = [0x20, 0x03, 0x00, 0x00, 0x00];
/// 5.0 CONNACK: accepted, Topic Alias Maximum 2.
const CONNACK_ALIASES: [u8; 8] = [0x20, 0x06, 0x00, 0x00, 0x03, 0x22, 0x00, 0x02];

/// An event, described for exact comparison.
fn describe(e: &Event<'_>) -> String {
    match e {
        Event::Response(r) => {
            let mut d = format!("Response {:?} {:02x?}", r.packet_type, r.reason_codes);
            for p in r.properties.iter() {
                d += &format!(" {p:?}");
            }
            d
        }
        Event::Message(m) => {
            let mut d = format!(
                "Message {} {:?} qos={}",
                m.topic,
                String::from_utf8_lossy(m.payload),
                m.qos.as_u8()
            );
            for p in m.properties.iter() {
                d += &format!(" {p:?}");
            }
            d
        }
        other => format!("{other:?}"),
    }
}

async fn next_async<C: mqtt_embedded::Clock>(client: &mut AsyncClient<'_, C>) -> String {
    for _ in 0..1000 {
        if let Some(event) = client.poll().await.expect("poll") {
            return describe(&event);
        }
    }
    panic!("no event after 1000 polls");
}

fn next_blocking<C: mqtt_embedded::Clock>(client: &mut BlockingClient<'_, C>) -> String {
    for _ in 0..1000 {
        if let Some(event) = client.poll().expect("poll") {
            return describe(&event);
        }
    }
    panic!("no event after 1000 polls");
}

/// `ConnectOptionsV5` for client id "emb", keep alive 0, Clean Start on, with `properties`.
fn options<'a>(properties: &'a [Property<'a>]) -> ConnectOptionsV5<'a> {
    let mut o = ConnectOptionsV5::new("emb");
    o.options.keep_alive = 0;
    o.properties = Properties::new(properties);
    o
}

#[test]
fn connect_at_5_0_sends_the_properties_and_takes_the_connack_limits() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    // CONNACK: accepted, Receive Maximum 5, Session Expiry Interval 30 (the broker's choice).
    peer.send(&[
        0x20, 0x0B, 0x00, 0x00, 0x08, 0x21, 0x00, 0x05, 0x11, 0x00, 0x00, 0x00, 0x1E,
    ]);
    let props = [Property::SessionExpiryInterval(60)];
    let mut o = options(&props);
    o.options.keep_alive = 30;
    let present = block_on(client.connect(peer.clone(), &o)).expect("connect");
    assert!(!present);
    // Protocol Level 5, Clean Start, keep alive 30, Property Length 5: Session Expiry 60.
    assert_eq!(
        peer.take_written(),
        [
            0x10, 0x15, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x1E, 0x05, 0x11,
            0x00, 0x00, 0x00, 0x3C, 0x00, 0x03, b'e', b'm', b'b'
        ]
    );
    let limits = client.session().server_limits().expect("5.0 CONNACK");
    assert_eq!(limits.receive_maximum, 5);
    assert_eq!(limits.session_expiry_interval, 30);
    assert!(client.session().is_connected());
}

#[test]
fn a_5_0_refusal_fails_connect_with_its_reason_code() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    // CONNACK 0x86 Bad User Name or Password, with a Reason String "no".
    peer.send(&[0x20, 0x08, 0x00, 0x86, 0x05, 0x1F, 0x00, 0x02, b'n', b'o']);
    let result = client.connect(peer, &options(&[]));
    assert_eq!(
        result,
        Err(Error::ConnectFailed(DisconnectReason::RefusedV5(
            ConnectReasonCode::BadUserNameOrPassword
        )))
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "connection failed: connection refused: {}",
            ConnectReasonCode::BadUserNameOrPassword
        )
    );
    // Nothing of the attempt is left; the next connection may be 3.1.1.
    assert!(matches!(client.poll(), Err(Error::NotConnected)));
    let peer = ScriptedPeer::new();
    peer.send(&[0x20, 0x02, 0x00, 0x00]);
    assert_eq!(
        client.connect(peer.clone(), &ConnectOptions::new("emb")),
        Ok(false)
    );
    assert_eq!(peer.take_written()[8], 4, "Protocol Level 4");

    // The async client, refused with 0x87 Not authorized.
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&[0x20, 0x03, 0x00, 0x87, 0x00]);
    block_on(async {
        assert_eq!(
            client.connect(peer, &options(&[])).await,
            Err(Error::ConnectFailed(DisconnectReason::RefusedV5(
                ConnectReasonCode::NotAuthorized
            )))
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
    });
}

/// `start_connect` leaves the CONNACK to `poll`: its `Event::Response` with the properties
/// `connect` does not hand out, then `Connected`; and a refusal as `Disconnected`.
#[test]
fn start_connect_hands_out_the_connack_response() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    // CONNACK: accepted, Assigned Client Identifier "id-7".
    peer.send(&[
        0x20, 0x0A, 0x00, 0x00, 0x07, 0x12, 0x00, 0x04, b'i', b'd', b'-', b'7',
    ]);
    let mut o = ConnectOptionsV5::new("");
    o.options.keep_alive = 0;
    block_on(async {
        client.start_connect(peer.clone(), &o).unwrap();
        assert!(peer.take_written().is_empty(), "no IO before poll");
        assert_eq!(
            next_async(&mut client).await,
            "Response ConnAck [00] AssignedClientIdentifier(\"id-7\")"
        );
        assert_eq!(
            next_async(&mut client).await,
            "Connected { session_present: false }"
        );
        assert_eq!(
            client.start_connect(ScriptedPeer::new(), &o),
            Err(Error::Command(CommandError::AlreadyConnected))
        );
    });

    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&[0x20, 0x03, 0x00, 0x9F, 0x00]);
    client.start_connect(peer, &options(&[])).unwrap();
    assert_eq!(next_blocking(&mut client), "Response ConnAck [9f]");
    assert_eq!(
        next_blocking(&mut client),
        format!(
            "Disconnected {{ reason: {:?} }}",
            DisconnectReason::RefusedV5(ConnectReasonCode::ConnectionRateExceeded)
        )
    );
    assert!(matches!(client.poll(), Err(Error::NotConnected)));
}

#[test]
fn publish_with_properties_exact_bytes_acknowledged_and_rejected() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK);
    client.connect(peer.clone(), &options(&[])).unwrap();
    peer.take_written();

    let props = [Property::UserProperty("k", "v")];
    let props = Properties::new(&props);
    let id = client
        .publish_with("t", b"p", QoS::AtLeastOnce, false, &props)
        .unwrap()
        .unwrap();
    let id2 = client
        .publish_with("t", b"q", QoS::AtLeastOnce, false, &props)
        .unwrap()
        .unwrap();
    assert_eq!(
        client.publish_with("t", b"r", QoS::AtMostOnce, false, &props),
        Ok(None)
    );
    client.flush().unwrap();
    // Topic "t", packet id, Property Length 7: User Property ("k", "v"), payload.
    let mut expected = vec![
        0x32, 0x0E, 0x00, 0x01, b't', 0x00, 0x01, 0x07, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
        b'p',
    ];
    expected.extend_from_slice(&[
        0x32, 0x0E, 0x00, 0x01, b't', 0x00, 0x02, 0x07, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',
        b'q',
    ]);
    expected.extend_from_slice(&[
        0x30, 0x0C, 0x00, 0x01, b't', 0x07, 0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', b'r',
    ]);
    assert_eq!(peer.take_written(), expected);
    // PUBACK 0x00 for the first; PUBACK 0x87 Not authorized for the second.
    peer.send(&[0x40, 0x02, 0x00, 0x01]);
    peer.send(&[0x40, 0x03, 0x00, 0x02, 0x87]);
    assert_eq!(
        next_blocking(&mut client),
        format!("PublishAcknowledged {{ packet_id: {id:?} }}")
    );
    assert_eq!(next_blocking(&mut client), "Response PubAck [87]");
    assert_eq!(
        next_blocking(&mut client),
        format!(
            "PublishRejected {{ packet_id: {id2:?}, reason_code: {:?} }}",
            PubAckReasonCode::NotAuthorized
        )
    );
    assert_eq!(client.session().store().outgoing_len(), 0);

    // An incoming QoS 0 PUBLISH with Content Type "x": its properties reach the application.
    peer.send(&[
        0x30, 0x0A, 0x00, 0x01, b'i', 0x04, 0x03, 0x00, 0x01, b'x', b'h', b'i',
    ]);
    assert_eq!(
        next_blocking(&mut client),
        "Message i \"hi\" qos=0 ContentType(\"x\")"
    );
}

/// The output buffer (128 bytes, smaller than the transmit buffer) bounds every PUBLISH,
/// counted as it goes out at 5.0: Property Length and properties, and the Topic Alias a first
/// send may carry. One byte too many is refused up front, with nothing written or stored; one
/// that fits exactly goes out whole.
#[test]
fn the_output_buffer_check_counts_the_5_0_publish() {
    let props = [Property::UserProperty("k", "v")];
    let props = Properties::new(&props);
    let time = VirtualTime::default();

    // QoS 1 "t" with 7 bytes of properties and n bytes of payload: 2 + (3 + 2 + 1 + 7 + n).
    let mut memory = Memory::<512, 512, 128>::new();
    let mut client = blocking_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK);
    client.connect(peer.clone(), &options(&[])).unwrap();
    peer.take_written();
    assert_eq!(
        client.publish_with("t", &[7; 114], QoS::AtLeastOnce, false, &props),
        Err(CommandError::PacketTooLarge { required: 129 })
    );
    // Without properties, QoS 0 at 5.0: 2 + (3 + 1 + n), one byte more than at 3.1.1.
    assert_eq!(
        client.publish("t", &[7; 123], QoS::AtMostOnce, false),
        Err(CommandError::PacketTooLarge { required: 129 })
    );
    assert_eq!(client.session().store().outgoing_len(), 0);
    client.flush().unwrap();
    assert!(peer.take_written().is_empty());
    client
        .publish_with("t", &[7; 113], QoS::AtLeastOnce, false, &props)
        .unwrap();
    client
        .publish("t", &[7; 122], QoS::AtMostOnce, false)
        .unwrap();
    client.flush().unwrap();
    assert_eq!(peer.take_written().len(), 128 + 128);
    assert!(client.session().is_connected());

    // Outgoing topic aliases on, and the broker allows 2: a held message's first send may
    // set one (3 more bytes, and here a second byte of Remaining Length).
    let config = Config::default().with_outgoing_topic_aliases(4);
    let mut memory = Memory::<512, 512, 128>::new();
    let mut client = blocking_client(memory.buffers(), config, &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK_ALIASES);
    client.connect(peer.clone(), &options(&[])).unwrap();
    peer.take_written();
    assert_eq!(
        client.publish_with("t", &[7; 113], QoS::AtLeastOnce, false, &props),
        Err(CommandError::PacketTooLarge { required: 132 })
    );
    assert_eq!(
        client.publish("t", &[7; 120], QoS::AtMostOnce, false),
        Err(CommandError::PacketTooLarge { required: 129 })
    );
    client
        .publish_with("t", &[7; 110], QoS::AtLeastOnce, false, &props)
        .unwrap();
    client.flush().unwrap();
    let sent = peer.take_written();
    assert_eq!(sent.len(), 128);
    // Topic in full (the alias is set here), then the user's property and Topic Alias 1.
    assert_eq!(
        &sent[..19],
        [
            0x32, 0x7E, 0x00, 0x01, b't', 0x00, 0x01, 0x0A, 0x26, 0x00, 0x01, b'k', 0x00, 0x01,
            b'v', 0x23, 0x00, 0x01, 7
        ]
    );

    // Aliases on our side only (the broker's maximum is 0): QoS 0 never carries one, but a
    // QoS 1 message may go out on a later connection whose broker allows them.
    let mut memory = Memory::<512, 512, 128>::new();
    let mut client = blocking_client(memory.buffers(), config, &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK);
    client.connect(peer.clone(), &options(&[])).unwrap();
    peer.take_written();
    client
        .publish("t", &[7; 122], QoS::AtMostOnce, false)
        .unwrap();
    assert_eq!(
        client.publish_with("t", &[7; 113], QoS::AtLeastOnce, false, &props),
        Err(CommandError::PacketTooLarge { required: 132 })
    );
    client.flush().unwrap();
    assert_eq!(peer.take_written().len(), 128);

    // A 3.1.1 connection: QoS 0 is counted at 3.1.1, a QoS 1 message (which may be resent at
    // 5.0) at its 5.0 size.
    let mut memory = Memory::<512, 512, 128>::new();
    let mut client = async_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&[0x20, 0x02, 0x00, 0x00]);
    block_on(async {
        client
            .connect(peer.clone(), &ConnectOptions::new("emb"))
            .await
            .unwrap();
        peer.take_written();
        client
            .publish("t", &[7; 123], QoS::AtMostOnce, false)
            .unwrap();
        assert_eq!(
            client.publish("t", &[7; 121], QoS::AtLeastOnce, false),
            Err(CommandError::PacketTooLarge { required: 129 })
        );
        // Properties on a 3.1.1 connection: the session's refusal.
        assert_eq!(
            client.publish_with("t", b"p", QoS::AtLeastOnce, false, &props),
            Err(CommandError::RequiresV5)
        );
        client.flush().await.unwrap();
        assert_eq!(peer.take_written().len(), 128);
    });
}

/// A held message that would not fit the output buffer with a Topic Alias is refused up
/// front even when the output buffer is as large as the transmit buffer: accepted, its first
/// send (with the alias) could never be written, on this connection or any later one.
#[test]
fn a_held_message_too_large_with_its_topic_alias_is_refused_up_front() {
    let time = VirtualTime::default();
    let config = Config::default().with_outgoing_topic_aliases(4);
    let mut memory = Memory::<256, 128, 128>::new();
    let mut client = async_client(memory.buffers(), config, &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK_ALIASES);
    block_on(async {
        client.connect(peer.clone(), &options(&[])).await.unwrap();
        peer.take_written();
        // 2 + (3 + 2 + 1 + n) = 128 without the alias: the session takes it (transmit buffer
        // 128); with it the body is 129 bytes, its Remaining Length 2: 132.
        assert_eq!(
            client.publish("t", &[1; 120], QoS::ExactlyOnce, false),
            Err(CommandError::PacketTooLarge { required: 132 })
        );
        assert_eq!(client.session().store().outgoing_len(), 0);
        let id = client
            .publish("t", &[1; 117], QoS::ExactlyOnce, false)
            .unwrap()
            .unwrap();
        client.flush().await.unwrap();
        assert_eq!(peer.take_written().len(), 128);
        // PUBREC, PUBCOMP: done.
        peer.send(&[0x50, 0x02, 0x00, 0x01]);
        peer.send(&[0x70, 0x02, 0x00, 0x01]);
        assert_eq!(
            next_async(&mut client).await,
            format!("PublishCompleted {{ packet_id: {id:?} }}")
        );
        assert_eq!(peer.take_written(), [0x62, 0x02, 0x00, 0x01], "PUBREL");
    });
}

/// CONNECT with Authentication Method "M" and Data "hi".
const AUTH_PROPS: [Property<'static>; 2] = [
    Property::AuthenticationMethod("M"),
    Property::AuthenticationData(b"hi"),
];
/// The broker's AUTH 0x18, method "M", data "?".
const AUTH_CONTINUE: [u8; 12] = [
    0xF0, 0x0A, 0x18, 0x08, 0x15, 0x00, 0x01, b'M', 0x16, 0x00, 0x01, b'?',
];
/// CONNACK accepted with method "M".
const CONNACK_AUTH: [u8; 9] = [0x20, 0x07, 0x00, 0x00, 0x04, 0x15, 0x00, 0x01, b'M'];

/// Enhanced authentication (section 4.12) through `start_connect`: the broker's AUTH 0x18 is
/// an event, `auth_continue` answers it, CONNACK ends it; `reauthenticate` after CONNACK, AUTH
/// 0x00 ends that; `abort_auth` gives up with DISCONNECT 0x80.
#[test]
fn enhanced_authentication_through_start_connect_and_poll() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    block_on(async {
        // Not before a connection.
        assert_eq!(client.auth_continue(None), Err(CommandError::NotConnected));
        client
            .start_connect(peer.clone(), &options(&AUTH_PROPS))
            .unwrap();
        peer.send(&AUTH_CONTINUE);
        let e = next_async(&mut client).await;
        assert!(
            e.starts_with("AuthContinue { method: \"M\", data: Some([63]), reason_string: None"),
            "{e}"
        );
        peer.take_written();
        client.auth_continue(Some(b"!")).unwrap();
        assert_eq!(
            client.auth_continue(Some(b"!")),
            Err(CommandError::AuthNotAwaited)
        );
        client.flush().await.unwrap();
        assert_eq!(
            peer.take_written(),
            [
                0xF0, 0x0A, 0x18, 0x08, 0x15, 0x00, 0x01, b'M', 0x16, 0x00, 0x01, b'!'
            ]
        );
        peer.send(&CONNACK_AUTH);
        assert_eq!(
            next_async(&mut client).await,
            "Response ConnAck [00] AuthenticationMethod(\"M\")"
        );
        assert_eq!(
            next_async(&mut client).await,
            "Connected { session_present: false }"
        );

        client.reauthenticate(Some(b"again")).unwrap();
        assert_eq!(
            client.reauthenticate(None),
            Err(CommandError::AuthInProgress)
        );
        client.flush().await.unwrap();
        assert_eq!(
            peer.take_written(),
            [
                0xF0, 0x0E, 0x19, 0x0C, 0x15, 0x00, 0x01, b'M', 0x16, 0x00, 0x05, b'a', b'g', b'a',
                b'i', b'n'
            ]
        );
        // AUTH 0x00 Success, method "M".
        peer.send(&[0xF0, 0x06, 0x00, 0x04, 0x15, 0x00, 0x01, b'M']);
        let e = next_async(&mut client).await;
        assert!(
            e.starts_with("Reauthenticated { method: \"M\", data: None"),
            "{e}"
        );

        peer.0.borrow_mut().eof = true;
        client.abort_auth().await.unwrap();
        assert_eq!(peer.take_written(), [0xE0, 0x01, 0x80]);
        assert_eq!(
            next_async(&mut client).await,
            "Disconnected { reason: Local }"
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
    });
}

/// `connect` cannot answer the broker's AUTH 0x18: it fails with `Error::AuthExchange` and
/// leaves nothing to poll; the blocking client answers through `start_connect`.
#[test]
fn connect_meeting_an_auth_exchange_fails_and_start_connect_answers_it() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&AUTH_CONTINUE);
    assert_eq!(
        client.connect(peer, &options(&AUTH_PROPS)),
        Err(Error::AuthExchange)
    );
    assert!(matches!(client.poll(), Err(Error::NotConnected)));
    assert!(!client.session().is_connected());

    let peer = ScriptedPeer::new();
    peer.send(&AUTH_CONTINUE);
    client
        .start_connect(peer.clone(), &options(&AUTH_PROPS))
        .unwrap();
    let e = next_blocking(&mut client);
    assert!(
        e.starts_with("AuthContinue { method: \"M\", data: Some([63])"),
        "{e}"
    );
    client.auth_continue(None).unwrap();
    peer.send(&CONNACK_AUTH);
    assert_eq!(
        next_blocking(&mut client),
        "Response ConnAck [00] AuthenticationMethod(\"M\")"
    );
    assert_eq!(
        next_blocking(&mut client),
        "Connected { session_present: false }"
    );
    let written = peer.take_written();
    // After CONNECT: AUTH 0x18 with the method and no data.
    assert!(
        written.ends_with(&[0xF0, 0x06, 0x18, 0x04, 0x15, 0x00, 0x01, b'M']),
        "{written:02x?}"
    );
    // Without an Authentication Method in CONNECT, the commands are refused.
    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK);
    client.connect(peer, &options(&[])).unwrap();
    assert_eq!(client.reauthenticate(None), Err(CommandError::NoAuthMethod));
    assert_eq!(
        client.abort_auth(),
        Err(Error::Command(CommandError::NoAuthMethod))
    );
}

/// `disconnect_with` writes DISCONNECT with its reason code and properties, then lingers as
/// `disconnect` does (here until the broker closes); a Session Expiry Interval above the
/// CONNECT's 0 is refused with nothing sent [MQTT-3.14.2-2].
#[test]
fn disconnect_with_reason_code_and_session_expiry_then_linger() {
    let time = VirtualTime::default();
    let expiry = [Property::SessionExpiryInterval(60)];
    let zero = [Property::SessionExpiryInterval(0)];
    let mut goodbye = DisconnectOptions::new(DisconnectReasonCode::DisconnectWithWillMessage);
    goodbye.properties = Properties::new(&zero);

    let mut memory = Mem::new();
    let mut client = blocking_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK);
    client.connect(peer.clone(), &options(&expiry)).unwrap();
    peer.take_written();
    // A PUBACK on its way, then the broker closes.
    peer.send(&[0x40, 0x02, 0x00, 0x01]);
    peer.0.borrow_mut().eof = true;
    client.disconnect_with(&goodbye).unwrap();
    assert!(peer.0.borrow().inbound.is_empty(), "read while lingering");
    // 0x04 Disconnect with Will Message, Property Length 5: Session Expiry Interval 0.
    assert_eq!(
        peer.take_written(),
        [0xE0, 0x07, 0x04, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00]
    );
    assert_eq!(next_blocking(&mut client), "Disconnected { reason: Local }");

    let mut memory = Mem::new();
    let mut client = async_client(memory.buffers(), Config::default(), &time);
    let peer = ScriptedPeer::new();
    peer.send(&CONNACK);
    block_on(async {
        client.connect(peer.clone(), &options(&[])).await.unwrap();
        peer.take_written();
        let mut later = DisconnectOptions::new(DisconnectReasonCode::NormalDisconnection);
        later.properties = Properties::new(&expiry);
        assert_eq!(
            client.disconnect_with(&later).await,
            Err(Error::Command(CommandError::SessionExpiryAfterZero))
        );
        assert!(peer.take_written().is_empty());
        assert!(client.session().is_connected());
        let start = time.millis();
        client.disconnect_with(&goodbye).await.unwrap();
        // The broker never closes: the linger (1 s by default) ends it.
        assert_eq!(time.millis(), start + 1000);
        assert_eq!(
            peer.take_written(),
            [0xE0, 0x07, 0x04, 0x05, 0x11, 0x00, 0x00, 0x00, 0x00]
        );
        assert_eq!(
            next_async(&mut client).await,
            "Disconnected { reason: Local }"
        );
        assert_eq!(
            client.disconnect_with(&goodbye).await,
            Err(Error::Command(CommandError::NotConnected))
        );
    });
}
