//! The embedded clients against a scripted in-process peer with virtual time: exact bytes on the
//! wire, timers without waiting, transport failures, and arbitrary input.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    PINGREQ, PINGRESP, ScriptedPeer, Seen, VirtualDelay, VirtualTime, block_on, connack, publish,
};
use embedded_io::ErrorKind;
use mqtt_embedded::{
    CommandError, Config, ConnectOptions, DisconnectReason, Error, Event, FixedStore, Instant,
    Memory, QoS, Store, SubAckReturnCode, asynch, blocking,
};

type Store4 = FixedStore<4, 512>;
type Mem = Memory<256, 128, 256>;
type AsyncClient<'a, Clk> = asynch::Client<'a, ScriptedPeer, Store4, Clk, VirtualDelay>;
type BlockingClient<'a, Clk> = blocking::Client<'a, ScriptedPeer, Store4, Clk, VirtualDelay>;

fn async_client<'a>(
    memory: &'a mut Mem,
    time: &VirtualTime,
) -> AsyncClient<'a, impl Fn() -> Instant + use<>> {
    let mut client = asynch::Client::new(
        Config::default(),
        Store4::new(),
        memory.buffers(),
        time.clock(),
        time.delay(),
    );
    client.set_max_wait(Some(std::time::Duration::from_secs(1)));
    client
}

fn blocking_client<'a>(
    memory: &'a mut Mem,
    time: &VirtualTime,
) -> BlockingClient<'a, impl Fn() -> Instant + use<>> {
    let mut client = blocking::Client::new(
        Config::default(),
        Store4::new(),
        memory.buffers(),
        time.clock(),
        time.delay(),
    );
    client.set_max_wait(Some(std::time::Duration::from_secs(1)));
    client
}

fn options(keep_alive: u16, clean_session: bool) -> ConnectOptions<'static> {
    let mut o = ConnectOptions::new("emb");
    o.keep_alive = keep_alive;
    o.clean_session = clean_session;
    o
}

/// CONNECT for client id "emb" with these flags.
fn connect_bytes(keep_alive: u16, clean_session: bool) -> Vec<u8> {
    let mut v = vec![0x10, 15, 0, 4, b'M', b'Q', b'T', b'T', 4];
    v.push(if clean_session { 0x02 } else { 0x00 });
    v.extend_from_slice(&keep_alive.to_be_bytes());
    v.extend_from_slice(&[0, 3, b'e', b'm', b'b']);
    v
}

/// Poll until an event comes (bounded), returning it owned.
async fn next_async<C: mqtt_embedded::Clock>(client: &mut AsyncClient<'_, C>) -> Seen {
    for _ in 0..1000 {
        if let Some(event) = client.poll().await.expect("poll") {
            return Seen::of(&event);
        }
    }
    panic!("no event after 1000 polls");
}

fn next_blocking<C: mqtt_embedded::Clock>(client: &mut BlockingClient<'_, C>) -> Seen {
    for _ in 0..1000 {
        if let Some(event) = client.poll().expect("poll") {
            return Seen::of(&event);
        }
    }
    panic!("no event after 1000 polls");
}

#[test]
fn connect_writes_connect_and_returns_session_present() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(true));
    let present = block_on(client.connect(peer.clone(), &options(30, false))).expect("connect");
    assert!(present);
    assert_eq!(peer.take_written(), connect_bytes(30, false));
    assert!(client.session().is_connected());
}

#[test]
fn keep_alive_sends_pingreq_and_times_out_without_pingresp_in_virtual_time() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    client.set_max_wait(None);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(5, true))
            .await
            .unwrap();
        peer.take_written();
        // Idle: the wait is the keep-alive interval; then PINGREQ goes out.
        while peer.0.borrow().outbound.is_empty() {
            assert_eq!(client.poll().await.unwrap(), None);
        }
        assert_eq!(peer.take_written(), PINGREQ);
        assert_eq!(time.millis(), 5_000);
        // PINGRESP: nothing for the application, the connection stays.
        peer.send(&PINGRESP);
        assert_eq!(client.poll().await.unwrap(), None);
        assert!(client.session().is_connected());
        // Next interval: PINGREQ again, and no PINGRESP this time.
        while peer.0.borrow().outbound.is_empty() {
            assert_eq!(client.poll().await.unwrap(), None);
        }
        assert_eq!(peer.take_written(), PINGREQ);
        let seen = next_async(&mut client).await;
        assert_eq!(seen, Seen::Disconnected(DisconnectReason::KeepAliveTimeout));
        // PINGREQ at 10 s; the default ping timeout (10 s) is capped at the keep alive (5 s),
        // so the client is never silent longer than the keep alive [MQTT-3.1.2-23].
        assert_eq!(time.millis(), 15_000);
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
    });
}

#[test]
fn blocking_keep_alive_sends_pingreq_in_virtual_time() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    client.set_max_wait(None);
    client.set_poll_interval(std::time::Duration::from_millis(250));
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    client.connect(peer.clone(), &options(2, true)).unwrap();
    peer.take_written();
    while peer.0.borrow().outbound.is_empty() {
        assert_eq!(client.poll().unwrap(), None);
    }
    assert_eq!(peer.take_written(), PINGREQ);
    assert_eq!(time.millis(), 2_000);
    peer.send(&PINGRESP);
    assert_eq!(client.poll().unwrap(), None);
    assert!(client.session().is_connected());
}

#[test]
fn received_message_is_borrowed_from_the_receive_buffer_and_acknowledged() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let rx = memory.buffers().rx.as_ptr_range();
    let mut client = async_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        peer.take_written();
        peer.send(&publish("a/b", b"hello", 1, 7));
        let event = loop {
            if let Some(event) = client.poll().await.unwrap() {
                break event;
            }
        };
        let Event::Message(m) = event else {
            panic!("expected a message, got {event:?}");
        };
        assert_eq!(
            (m.topic, m.payload, m.qos),
            ("a/b", &b"hello"[..], QoS::AtLeastOnce)
        );
        assert!(
            rx.contains(&m.payload.as_ptr()),
            "payload not in the receive buffer"
        );
        assert!(
            rx.contains(&m.topic.as_ptr()),
            "topic not in the receive buffer"
        );
        assert_eq!(client.poll().await.unwrap(), None);
        assert_eq!(peer.take_written(), [0x40, 0x02, 0x00, 0x07], "PUBACK");
    });
}

#[test]
fn input_one_byte_at_a_time_and_output_three_bytes_at_a_time() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.0.borrow_mut().chunk = 1;
    peer.0.borrow_mut().write_limit = 3;
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        assert_eq!(peer.take_written(), connect_bytes(0, true));
        let payload = [0x5A; 100];
        client
            .publish("x/y", &payload, QoS::AtMostOnce, false)
            .unwrap();
        assert!(peer.take_written().is_empty(), "queued, not written yet");
        client.flush().await.unwrap();
        assert_eq!(peer.take_written(), publish("x/y", &payload, 0, 0));
        peer.send(&publish("in", b"one byte at a time", 0, 0));
        let seen = next_async(&mut client).await;
        assert_eq!(
            seen,
            Seen::Message {
                topic: "in".into(),
                payload: b"one byte at a time".to_vec(),
                qos: QoS::AtMostOnce,
                dup: false
            }
        );
    });
}

#[test]
fn subscribe_results_include_failures() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    client.connect(peer.clone(), &options(0, true)).unwrap();
    peer.take_written();
    let id = client
        .subscribe(&[("ok/#", QoS::AtLeastOnce), ("denied", QoS::ExactlyOnce)])
        .unwrap();
    let [hi, lo] = id.0.get().to_be_bytes();
    client.flush().unwrap();
    let written = peer.take_written();
    assert_eq!(written[0], 0x82, "SUBSCRIBE");
    peer.send(&[0x90, 0x04, hi, lo, 0x01, 0x80]);
    assert_eq!(
        next_blocking(&mut client),
        Seen::Subscribed(
            id,
            vec![
                SubAckReturnCode::Success(QoS::AtLeastOnce),
                SubAckReturnCode::Failure
            ]
        )
    );
}

#[test]
fn end_of_stream_reports_transport_closed_once() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        peer.0.borrow_mut().eof = true;
        assert_eq!(
            next_async(&mut client).await,
            Seen::Disconnected(DisconnectReason::TransportClosed)
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
        assert!(matches!(
            client.publish("t", b"", QoS::AtMostOnce, false),
            Err(CommandError::NotConnected)
        ));
    });
}

#[test]
fn write_error_ends_the_connection_and_keeps_the_message() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(0, false))
            .await
            .unwrap();
        peer.0.borrow_mut().write_error = Some(ErrorKind::ConnectionReset);
        let id = client
            .publish("t", b"kept", QoS::AtLeastOnce, false)
            .unwrap();
        assert!(id.is_some());
        let result = client.flush().await;
        assert_eq!(result, Err(Error::Transport(ErrorKind::ConnectionReset)));
        assert_eq!(
            client.session().store().outgoing_len(),
            1,
            "kept for resumption"
        );
        assert_eq!(
            next_async(&mut client).await,
            Seen::Disconnected(DisconnectReason::TransportClosed)
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));

        // Resumption sends it again with DUP set.
        let peer = ScriptedPeer::new();
        peer.send(&connack(true));
        assert!(
            client
                .connect(peer.clone(), &options(0, false))
                .await
                .unwrap()
        );
        let written = peer.take_written();
        let resent = &written[connect_bytes(0, false).len()..];
        let mut expected = publish("t", b"kept", 1, 1);
        expected[0] |= 0x08;
        assert_eq!(resent, expected);
    });
}

#[test]
fn zero_length_write_is_an_error_not_a_panic() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    client.connect(peer.clone(), &options(0, true)).unwrap();
    peer.0.borrow_mut().write_zero = true;
    client.publish("t", b"x", QoS::AtMostOnce, false).unwrap();
    assert_eq!(client.flush(), Err(Error::WriteZero));
    assert_eq!(
        next_blocking(&mut client),
        Seen::Disconnected(DisconnectReason::TransportClosed)
    );
}

#[test]
fn publish_larger_than_the_output_buffer_is_refused_before_anything_changes() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    client.connect(peer.clone(), &options(0, true)).unwrap();
    peer.take_written();
    let big = [0u8; 300];
    let result = client.publish("t", &big, QoS::AtLeastOnce, false);
    assert!(
        matches!(result, Err(CommandError::PacketTooLarge { required }) if required > 256),
        "{result:?}"
    );
    assert_eq!(client.session().store().outgoing_len(), 0);
    client.flush().unwrap();
    assert!(peer.take_written().is_empty());
    assert!(client.session().is_connected());
}

#[test]
fn connect_waits_for_the_previous_connection_events_to_be_polled() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    block_on(async {
        let peer = ScriptedPeer::new();
        peer.send(&connack(false));
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        client.disconnect().await.unwrap();
        assert_eq!(
            peer.take_written()[connect_bytes(0, true).len()..],
            [0xE0, 0x00]
        );

        let again = ScriptedPeer::new();
        again.send(&connack(false));
        assert_eq!(
            client.connect(again.clone(), &options(0, true)).await,
            Err(Error::EventsPending)
        );
        assert_eq!(
            next_async(&mut client).await,
            Seen::Disconnected(DisconnectReason::Local)
        );
        assert!(matches!(client.poll().await, Err(Error::NotConnected)));
        assert_eq!(client.connect(again, &options(0, true)).await, Ok(false));
    });
}

#[test]
fn connack_timeout_fails_connect_and_leaves_nothing_to_poll() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    block_on(async {
        let silent = ScriptedPeer::new();
        assert_eq!(
            client.connect(silent, &options(0, true)).await,
            Err(Error::ConnectFailed(DisconnectReason::ConnAckTimeout))
        );
        assert_eq!(time.millis(), 30_000, "default CONNACK timeout");
        let peer = ScriptedPeer::new();
        peer.send(&connack(false));
        assert_eq!(client.connect(peer, &options(0, true)).await, Ok(false));
    });
}

#[test]
fn refused_connack_fails_connect_with_its_code() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&[0x20, 0x02, 0x00, 0x05]);
    assert_eq!(
        client.connect(peer, &options(0, true)),
        Err(Error::Refused(
            mqtt_embedded::ConnectReturnCode::NotAuthorized
        ))
    );
    assert!(matches!(client.poll(), Err(Error::NotConnected)));
}

#[test]
fn protocol_violation_ends_the_connection_with_its_reason() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        // A second CONNACK.
        peer.send(&connack(false));
        assert!(matches!(
            next_async(&mut client).await,
            Seen::Disconnected(DisconnectReason::ProtocolViolation(_))
        ));
    });
}

/// xorshift64*: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> usize {
        usize::try_from(self.next() % n).unwrap()
    }
}

/// Arbitrary bytes after CONNACK, split arbitrarily, through both clients: never a panic, and
/// every run ends (connection up and input consumed, or a single Disconnected then
/// NotConnected).
#[test]
fn arbitrary_input_never_panics_and_every_connection_ends_cleanly() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut ended = 0;
    for round in 0..300 {
        let time = VirtualTime::default();
        let mut memory = Mem::new();
        let peer = ScriptedPeer::new();
        peer.send(&connack(false));
        let len = rng.below(80);
        let mut junk: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        if round % 3 == 0 {
            // Start with a plausible first byte so more of the decoder is reached.
            let first = [0x30, 0x32, 0x40, 0x50, 0x62, 0x70, 0x90, 0xB0, 0xD0][rng.below(9)];
            junk.insert(0, first);
        }
        peer.0.borrow_mut().chunk = 1 + rng.below(8);
        peer.0.borrow_mut().eof = round % 2 == 0;
        let mut disconnects = 0;
        let blocking = round % 4 == 1;
        let mut outcome = |event: Option<&Seen>| {
            if event.is_some_and(Seen::is_disconnected) {
                disconnects += 1;
            }
        };
        if blocking {
            let mut client = blocking_client(&mut memory, &time);
            client.connect(peer.clone(), &options(0, true)).unwrap();
            peer.send(&junk);
            for _ in 0..400 {
                match client.poll() {
                    Ok(e) => outcome(e.map(|e| Seen::of(&e)).as_ref()),
                    Err(Error::NotConnected) => break,
                    Err(e) => panic!("unexpected error {e:?}"),
                }
            }
        } else {
            let mut client = async_client(&mut memory, &time);
            block_on(async {
                client
                    .connect(peer.clone(), &options(0, true))
                    .await
                    .unwrap();
                peer.send(&junk);
                for _ in 0..400 {
                    match client.poll().await {
                        Ok(e) => outcome(e.map(|e| Seen::of(&e)).as_ref()),
                        Err(Error::NotConnected) => break,
                        Err(e) => panic!("unexpected error {e:?}"),
                    }
                }
            });
        }
        assert!(disconnects <= 1, "round {round}: {disconnects} disconnects");
        if disconnects == 1 {
            ended += 1;
        } else {
            assert!(
                peer.0.borrow().inbound.is_empty(),
                "round {round}: connection up but input left unread"
            );
        }
    }
    assert!(ended > 100, "most junk ends the connection ({ended}/300)");
}

#[test]
fn full_transmit_queue_is_refused_until_flushed() {
    let time = VirtualTime::default();
    let mut memory = Memory::<256, 48, 256>::new();
    let mut client = blocking::Client::new(
        Config::default(),
        Store4::new(),
        memory.buffers(),
        time.clock(),
        time.delay(),
    );
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    client.connect(peer.clone(), &options(0, true)).unwrap();
    peer.take_written();
    let payload = [7u8; 16];
    let mut queued = 0;
    let refused = loop {
        match client.publish("q", &payload, QoS::AtMostOnce, false) {
            Ok(None) => queued += 1,
            other => break other,
        }
        assert!(
            queued < 10,
            "a 48-byte queue cannot hold 10 packets of 21 bytes"
        );
    };
    assert!(
        matches!(refused, Err(CommandError::TransmitBufferFull { .. })),
        "{refused:?}"
    );
    assert!(queued >= 1);
    client.flush().unwrap();
    let written = peer.take_written();
    assert_eq!(written.len(), queued * publish("q", &payload, 0, 0).len());
    // Room again.
    assert_eq!(
        client.publish("q", &payload, QoS::AtMostOnce, false),
        Ok(None)
    );
}

#[test]
fn many_packets_in_one_read_are_all_delivered_in_order_and_acknowledged() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        peer.take_written();
        let mut burst = Vec::new();
        for i in 1..=5u16 {
            burst.extend_from_slice(&publish("burst", &i.to_be_bytes(), 1, i));
        }
        peer.send(&burst);
        let mut payloads = Vec::new();
        for _ in 0..5 {
            match next_async(&mut client).await {
                Seen::Message { payload, qos, .. } => {
                    assert_eq!(qos, QoS::AtLeastOnce);
                    payloads.push(payload);
                }
                other => panic!("expected a message, got {other:?}"),
            }
        }
        let expected: Vec<Vec<u8>> = (1..=5u16).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(payloads, expected);
        client.flush().await.unwrap();
        let pubacks: Vec<u8> = (1..=5u16)
            .flat_map(|i| {
                let [hi, lo] = i.to_be_bytes();
                [0x40, 0x02, hi, lo]
            })
            .collect();
        assert_eq!(peer.take_written(), pubacks);
    });
}

/// `poll` and `flush` dropped while waiting (as under `select`) lose nothing: a cancel-safe
/// read loses no input, and bytes already handed to the transport are not written twice.
#[test]
fn cancelled_poll_and_flush_resume_where_they_stopped() {
    use futures_lite::future::or;

    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    client.set_max_wait(None);
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        peer.take_written();

        // Cancel a poll that waits for input.
        let cancelled = or(async { client.poll().await.map(|e| e.is_some()) }, async {
            Ok(false)
        })
        .await;
        assert_eq!(cancelled, Ok(false));
        peer.send(&publish("t", b"after cancel", 0, 0));
        assert_eq!(
            next_async(&mut client).await,
            Seen::Message {
                topic: "t".into(),
                payload: b"after cancel".to_vec(),
                qos: QoS::AtMostOnce,
                dup: false
            }
        );

        // Cancel a flush halfway through a packet.
        let payload = [0xA5u8; 100];
        {
            let mut s = peer.0.borrow_mut();
            s.write_limit = 7;
            s.write_stall_at = Some(21);
        }
        client
            .publish("big", &payload, QoS::AtMostOnce, false)
            .unwrap();
        let cancelled = or(async { client.flush().await.map(|()| true) }, async {
            Ok(false)
        })
        .await;
        assert_eq!(cancelled, Ok(false));
        assert_eq!(peer.0.borrow().outbound.len(), 21);
        peer.0.borrow_mut().write_stall_at = None;
        client.flush().await.unwrap();
        assert_eq!(peer.take_written(), publish("big", &payload, 0, 0));
    });
}

/// A PUBACK the broker sends after the client's DISCONNECT (an acknowledgement on its way).
const LATE_PUBACK: [u8; 4] = [0x40, 0x02, 0x00, 0x01];

/// A peer that accepts the connection.
fn late_peer() -> ScriptedPeer {
    let peer = ScriptedPeer::new();
    peer.send(&connack(false));
    peer
}

/// What the peer does once DISCONNECT is on its way: a late acknowledgement, then the end of
/// stream if it `closes`.
fn after_disconnect(peer: &ScriptedPeer, closes: bool) {
    peer.send(&LATE_PUBACK);
    peer.0.borrow_mut().eof = closes;
}

#[test]
fn disconnect_reads_until_the_broker_closes() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = late_peer();
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        after_disconnect(&peer, true);
        let start = time.millis();
        client.disconnect().await.unwrap();
        // The late PUBACK was read (and discarded), and the end of stream ended the linger
        // before any time passed.
        assert!(peer.0.borrow().inbound.is_empty());
        assert_eq!(time.millis(), start);
        assert!(peer.take_written().ends_with(&[0xE0, 0x00]));
        assert_eq!(
            next_async(&mut client).await,
            Seen::Disconnected(DisconnectReason::Local)
        );
    });

    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    let peer = late_peer();
    client.connect(peer.clone(), &options(0, true)).unwrap();
    after_disconnect(&peer, true);
    let start = time.millis();
    client.disconnect().unwrap();
    assert!(peer.0.borrow().inbound.is_empty());
    assert_eq!(time.millis(), start);
    assert!(peer.take_written().ends_with(&[0xE0, 0x00]));
    assert_eq!(
        next_blocking(&mut client),
        Seen::Disconnected(DisconnectReason::Local)
    );
}

#[test]
fn disconnect_gives_up_after_the_linger_when_the_broker_never_closes() {
    let linger = std::time::Duration::from_millis(2500);
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    client.set_linger(linger);
    let peer = late_peer();
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        after_disconnect(&peer, false);
        let start = time.millis();
        client.disconnect().await.unwrap();
        assert!(peer.0.borrow().inbound.is_empty());
        assert_eq!(time.millis() - start, 2500);
        assert_eq!(
            next_async(&mut client).await,
            Seen::Disconnected(DisconnectReason::Local)
        );
    });

    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    client.set_linger(linger);
    let peer = late_peer();
    client.connect(peer.clone(), &options(0, true)).unwrap();
    after_disconnect(&peer, false);
    let start = time.millis();
    client.disconnect().unwrap();
    assert!(peer.0.borrow().inbound.is_empty());
    assert_eq!(time.millis() - start, 2500);
    assert_eq!(
        next_blocking(&mut client),
        Seen::Disconnected(DisconnectReason::Local)
    );
}

#[test]
fn linger_zero_returns_right_after_the_flush() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    client.set_linger(std::time::Duration::ZERO);
    let peer = late_peer();
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        after_disconnect(&peer, true);
        client.disconnect().await.unwrap();
        // Nothing was read after DISCONNECT.
        assert_eq!(peer.0.borrow().inbound.len(), LATE_PUBACK.len());
        assert!(peer.take_written().ends_with(&[0xE0, 0x00]));
    });

    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = blocking_client(&mut memory, &time);
    client.set_linger(std::time::Duration::ZERO);
    let peer = late_peer();
    client.connect(peer.clone(), &options(0, true)).unwrap();
    after_disconnect(&peer, true);
    client.disconnect().unwrap();
    assert_eq!(peer.0.borrow().inbound.len(), LATE_PUBACK.len());
}

#[test]
fn a_failed_write_of_disconnect_does_not_linger() {
    let time = VirtualTime::default();
    let mut memory = Mem::new();
    let mut client = async_client(&mut memory, &time);
    let peer = late_peer();
    block_on(async {
        client
            .connect(peer.clone(), &options(0, true))
            .await
            .unwrap();
        after_disconnect(&peer, false);
        peer.0.borrow_mut().write_error = Some(ErrorKind::BrokenPipe);
        let start = time.millis();
        assert_eq!(
            client.disconnect().await,
            Err(Error::Transport(ErrorKind::BrokenPipe))
        );
        assert_eq!(time.millis(), start);
        assert_eq!(peer.0.borrow().inbound.len(), LATE_PUBACK.len());
    });
}
