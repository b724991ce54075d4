//! MQTT 5.0 over WebSocket (section 6), through `mqtt-std`'s public API with a 5.0 connection:
//! the 5.0 twin of `websocket.rs`, a scripted WebSocket peer on loopback playing the broker
//! frame by frame with 5.0 bytes.
// tungstenite's handshake callback returns its large `ErrorResponse` by value.
#![allow(clippy::unwrap_used, clippy::result_large_err)]

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use conformance::v5::wire5;
use conformance::wire;
use mqtt_std::{
    Client, ClientOptions, ConnectOptions, DisconnectReason, Error, ProtocolVersion, QoS,
    SubAckReturnCode, WsConfig, WsError,
};
use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::{Message, WebSocket};

const WAIT: Duration = Duration::from_secs(20);

/// Accepts one WebSocket at `/mqtt`; returns it and the sub-protocols the client offered.
/// Selects `mqtt` when `select`.
fn accept(listener: &TcpListener, select: bool) -> (WebSocket<TcpStream>, String) {
    let (tcp, _) = listener.accept().unwrap();
    let (tx, rx) = mpsc::channel();
    let ws = tungstenite::accept_hdr(tcp, move |req: &Request, mut resp: Response| {
        let offered = req
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        tx.send(offered).unwrap();
        if select {
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
        }
        Ok(resp)
    })
    .unwrap();
    (ws, rx.recv().unwrap())
}

/// The next data message from the client: it must be binary.
fn next_binary(ws: &mut WebSocket<TcpStream>) -> Vec<u8> {
    loop {
        match ws.read().unwrap() {
            Message::Binary(b) => return b.to_vec(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

fn v5() -> ConnectOptions {
    ConnectOptions::default().protocol(ProtocolVersion::V5)
}

fn client(id: &str) -> Client {
    let c = Client::new(ClientOptions::new(id)).unwrap();
    c.set_websocket(Some(WsConfig::new("/mqtt")));
    c
}

#[test]
fn mqtt5_6_0_0_1_every_packet_goes_in_a_binary_frame() {
    // CONNECT, SUBSCRIBE, PUBLISH and DISCONNECT each in binary data frames [MQTT-6.0.0-1].
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (mut ws, _) = accept(&listener, true);
        let mut first_bytes = Vec::new();
        let connect = next_binary(&mut ws);
        assert_eq!(
            connect,
            wire5::connect(
                0x02,
                60,
                &wire5::p_u32(0x27, 1 << 20),
                &wire5::string("ws-binary")
            )
        );
        first_bytes.push(connect[0]);
        ws.send(Message::binary(wire5::connack(0, 0, &[]))).unwrap();
        // SUBSCRIBE, PUBLISH QoS 1, DISCONNECT: each in binary messages.
        let mut got = Vec::new();
        while !got.ends_with(&[0xE0, 0x00]) {
            let b = next_binary(&mut ws);
            got.extend_from_slice(&b);
            let (packets, _) = wire::split(&got);
            for p in &packets {
                match p[0] {
                    0x82 => ws.send(Message::binary(wire5::suback(
                        u16::from_be_bytes([p[2], p[3]]),
                        &[0x01],
                    ))),
                    0x32 => {
                        let at = 2 + 2 + usize::from(u16::from_be_bytes([p[2], p[3]]));
                        ws.send(Message::binary(wire5::ack(
                            0x40,
                            u16::from_be_bytes([p[at], p[at + 1]]),
                        )))
                    }
                    _ => Ok(()),
                }
                .unwrap();
            }
            first_bytes.extend(packets.iter().map(|p| p[0]));
            got.drain(..got.len() - wire::split(&got).1);
            if first_bytes.last() == Some(&0xE0) {
                break;
            }
        }
        first_bytes
    });
    let c = client("ws-binary");
    c.connect("127.0.0.1", port, &v5()).unwrap();
    let codes = c
        .subscribe(&[("t/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    assert_eq!(codes, [SubAckReturnCode::Success(QoS::AtLeastOnce)]);
    c.publish("t/1", b"x", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    c.disconnect().unwrap();
    let first_bytes = peer.join().unwrap();
    assert_eq!(first_bytes, [0x10, 0x82, 0x32, 0xE0]);
}

#[test]
fn mqtt5_6_0_0_1_a_text_frame_closes_the_connection() {
    // A data frame other than binary closes the connection [MQTT-6.0.0-1].
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (mut ws, _) = accept(&listener, true);
        next_binary(&mut ws);
        ws.send(Message::binary(wire5::connack(0, 0, &[]))).unwrap();
        // A valid PUBLISH, but in a text frame: it must not be delivered.
        let text = String::from_utf8(wire5::publish("in/text", b"t", 0, 0, false, &[])).unwrap();
        ws.send(Message::text(text)).unwrap();
        // The client closes (with a close frame or by dropping the connection).
        loop {
            match ws.read() {
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(Message::Binary(b)) => {
                    panic!("MQTT bytes after a text frame: {}", wire::hex(&b))
                }
                Ok(_) => {}
            }
        }
    });
    let c = client("ws5-text");
    let (tx, rx) = mpsc::channel();
    c.set_disconnect_notify(move |r| {
        let _ = tx.send(r.clone());
    });
    c.connect("127.0.0.1", port, &v5()).unwrap();
    let reason = rx.recv_timeout(WAIT).unwrap();
    assert!(
        matches!(reason, DisconnectReason::WebSocket(WsError::NonBinaryFrame)),
        "{reason:?}"
    );
    assert!(
        c.try_recv().is_none(),
        "nothing from the text frame delivered"
    );
    peer.join().unwrap();
}

#[test]
fn mqtt5_6_0_0_2_packets_split_and_packed_across_frames() {
    // Packets are not aligned on frame boundaries [MQTT-6.0.0-2]: split across frames,
    // several in one, one message in three frames.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (mut ws, _) = accept(&listener, true);
        next_binary(&mut ws);
        // CONNACK one byte per message.
        for b in wire5::connack(0, 0, &[]) {
            ws.send(Message::binary(vec![b])).unwrap();
        }
        // Three packets in one message, the third cut short; its rest in the next message
        // together with a fourth packet.
        let one = wire5::publish("p/1", b"one", 0, 0, false, &[]);
        let two = wire5::publish("p/2", b"two", 1, 7, false, &wire5::p_user("k", "v"));
        let three = wire5::publish("p/3", &[0x33; 300], 0, 0, false, &[]);
        let four = wire5::publish("p/4", b"four", 0, 0, false, &[]);
        let mut a = one;
        a.extend(&two);
        a.extend(&three[..10]);
        let mut b = three[10..].to_vec();
        b.extend(&four);
        ws.send(Message::binary(a)).unwrap();
        ws.send(Message::binary(b)).unwrap();
        // A fifth packet in one message made of three frames (binary + two continuations).
        let five = wire5::publish("p/5", b"five", 0, 0, false, &[]);
        let (x, rest) = five.split_at(2);
        let (y, z) = rest.split_at(3);
        ws.send(Message::Frame(Frame::message(
            x.to_vec(),
            OpCode::Data(Data::Binary),
            false,
        )))
        .unwrap();
        ws.send(Message::Frame(Frame::message(
            y.to_vec(),
            OpCode::Data(Data::Continue),
            false,
        )))
        .unwrap();
        ws.send(Message::Frame(Frame::message(
            z.to_vec(),
            OpCode::Data(Data::Continue),
            true,
        )))
        .unwrap();
        // The PUBACK for the QoS 1 message comes back in a binary message.
        assert_eq!(next_binary(&mut ws), wire5::ack(0x40, 7));
        while ws.read().is_ok() {}
    });
    let c = client("ws5-split");
    c.connect("127.0.0.1", port, &v5()).unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        let m = c.recv_timeout(WAIT).unwrap();
        got.push((m.topic, m.payload.len()));
    }
    assert_eq!(
        got,
        [
            ("p/1".to_owned(), 3),
            ("p/2".to_owned(), 3),
            ("p/3".to_owned(), 300),
            ("p/4".to_owned(), 4),
            ("p/5".to_owned(), 4),
        ]
    );
    c.close();
    peer.join().unwrap();
}

#[test]
fn mqtt5_6_0_0_3_the_client_offers_mqtt_and_needs_it_selected() {
    // The client offers the "mqtt" sub-protocol [MQTT-6.0.0-3], and sends no MQTT bytes if
    // the server does not select it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let (mut ws, offered) = accept(&listener, false);
        // Not selected: the client sends no MQTT bytes.
        if let Ok(Message::Binary(b)) = ws.read() {
            panic!("MQTT bytes without the sub-protocol: {}", wire::hex(&b));
        }
        offered
    });
    let c = client("ws5-proto");
    match c
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap_err()
    {
        Error::WebSocket(WsError::SubProtocol) => {}
        other => panic!("expected a sub-protocol error, got {other}"),
    }
    let offered = peer.join().unwrap();
    assert!(
        offered.split(',').any(|p| p.trim() == "mqtt"),
        "offered {offered:?}"
    );
}
