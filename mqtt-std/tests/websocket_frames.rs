//! The WebSocket framing rules of MQTT [MQTT-6.0.0-1/2/3] against a scripted WebSocket peer
//! (a `tungstenite` server on loopback that plays the broker byte by byte).
// tungstenite's handshake callback returns its large `ErrorResponse` by value.
#![allow(clippy::unwrap_used, clippy::result_large_err)]

mod common;

use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

use common::{WAIT, id, wait_for};
use mqtt_std::{
    Client, ClientOptions, ConnectOptions, DisconnectReason, Error, QoS, WsConfig, WsError,
};
use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::{Message, WebSocket};

/// Accepts one WebSocket connection at `/mqtt`, answering with the sub-protocol `mqtt` when
/// `select_mqtt`.
fn accept(listener: &TcpListener, select_mqtt: bool) -> WebSocket<TcpStream> {
    let (tcp, _) = listener.accept().unwrap();
    tungstenite::accept_hdr(tcp, move |req: &Request, mut resp: Response| {
        assert_eq!(req.uri().path(), "/mqtt");
        let offered = req
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(offered, "mqtt", "[MQTT-6.0.0-3] the client offers mqtt");
        if select_mqtt {
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "mqtt".parse().unwrap());
        }
        Ok(resp)
    })
    .unwrap()
}

/// The next data message, which must be binary [MQTT-6.0.0-2].
fn binary(ws: &mut WebSocket<TcpStream>) -> Vec<u8> {
    loop {
        match ws.read().unwrap() {
            Message::Binary(b) => return b.to_vec(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

fn publish_qos0(topic: &str, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x30, u8::try_from(2 + topic.len() + payload.len()).unwrap()];
    p.extend_from_slice(&u16::try_from(topic.len()).unwrap().to_be_bytes());
    p.extend_from_slice(topic.as_bytes());
    p.extend_from_slice(payload);
    p
}

#[test]
fn mqtt_6_0_0_split_and_packed_frames_and_a_text_frame_closes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done_tx, done_rx) = mpsc::channel();
    let peer = thread::spawn(move || {
        let mut ws = accept(&listener, true);
        // CONNECT arrives in binary frames.
        let connect = binary(&mut ws);
        assert_eq!(connect.first(), Some(&0x10));
        // CONNACK split across two frames [MQTT-6.0.0-2].
        ws.send(Message::binary(vec![0x20, 0x02])).unwrap();
        ws.send(Message::binary(vec![0x00, 0x00])).unwrap();
        // A ping is answered with a pong carrying the same data.
        ws.send(Message::Ping(b"are you there".to_vec().into()))
            .unwrap();
        match ws.read().unwrap() {
            Message::Pong(p) => assert_eq!(&p[..], b"are you there"),
            other => panic!("expected a pong, got {other:?}"),
        }
        // Two packets in one frame.
        let mut two = publish_qos0("f/one", b"1");
        two.extend(publish_qos0("f/two", b"2"));
        ws.send(Message::binary(two)).unwrap();
        // One packet split over three messages, one of them a single byte.
        let three = publish_qos0("f/three", b"333");
        let (a, rest) = three.split_at(1);
        let (b, c) = rest.split_at(4);
        for part in [a, b, c] {
            ws.send(Message::binary(part.to_vec())).unwrap();
        }
        // One packet in one message of two frames (a binary frame and a continuation).
        let four = publish_qos0("f/four", b"4444");
        let (a, b) = four.split_at(5);
        ws.send(Message::Frame(Frame::message(
            a.to_vec(),
            OpCode::Data(Data::Binary),
            false,
        )))
        .unwrap();
        ws.send(Message::Frame(Frame::message(
            b.to_vec(),
            OpCode::Data(Data::Continue),
            true,
        )))
        .unwrap();
        // A text frame: the client must close the connection [MQTT-6.0.0-1]. A PUBLISH in it
        // must not be delivered.
        let text = String::from_utf8(publish_qos0("f/text", b"t")).unwrap();
        ws.send(Message::text(text)).unwrap();
        // The client says why in its close frame, then closes.
        let close = loop {
            match ws.read() {
                Ok(Message::Close(frame)) => break frame,
                Ok(_) => {}
                Err(e) => panic!("expected a close frame, got {e}"),
            }
        };
        done_tx.send(close.map(|f| f.code)).unwrap();
    });

    let client = Client::new(ClientOptions::new(id("ws-frames"))).unwrap();
    client.set_websocket(Some(WsConfig::new("/mqtt")));
    let (reason_tx, reason_rx) = mpsc::channel();
    client.set_disconnect_notify(move |r| {
        let _ = reason_tx.send(r.clone());
    });
    client
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    for (topic, payload) in [
        ("f/one", "1"),
        ("f/two", "2"),
        ("f/three", "333"),
        ("f/four", "4444"),
    ] {
        let m = client.recv_timeout(WAIT).unwrap();
        assert_eq!(
            (m.topic.as_str(), m.payload.as_slice(), m.qos),
            (topic, payload.as_bytes(), QoS::AtMostOnce)
        );
    }
    let reason = wait_for(&reason_rx);
    assert!(
        matches!(reason, DisconnectReason::WebSocket(WsError::NonBinaryFrame)),
        "{reason:?}"
    );
    assert!(reason.to_string().contains("[MQTT-6.0.0-1]"), "{reason}");
    assert_eq!(wait_for(&done_rx), Some(CloseCode::Unsupported));
    // Nothing from the text frame was delivered.
    assert!(client.try_recv().is_none());
    peer.join().unwrap();
}

#[test]
fn mqtt_6_0_0_3_a_server_without_the_mqtt_sub_protocol_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let mut ws = accept(&listener, false);
        // The client gives up at once: nothing MQTT is sent.
        if let Ok(Message::Binary(b)) = ws.read() {
            panic!("MQTT bytes sent without the sub-protocol: {b:?}");
        }
    });
    let client = Client::new(ClientOptions::new(id("ws-noproto"))).unwrap();
    client.set_websocket(Some(WsConfig::new("/mqtt")));
    match client
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap_err()
    {
        Error::WebSocket(e @ WsError::SubProtocol) => {
            assert!(e.to_string().contains("MQTT-6.0.0-3"), "{e}");
        }
        other => panic!("expected a sub-protocol error, got {other}"),
    }
    peer.join().unwrap();
}

#[test]
fn a_websocket_close_from_the_broker_ends_the_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let mut ws = accept(&listener, true);
        binary(&mut ws);
        ws.send(Message::binary(vec![0x20, 0x02, 0x00, 0x00]))
            .unwrap();
        ws.close(None).unwrap();
        // Drive the close handshake until the client closes.
        while ws.read().is_ok() {}
    });
    let client = Client::new(ClientOptions::new(id("ws-close"))).unwrap();
    client.set_websocket(Some(WsConfig::new("/mqtt")));
    let (reason_tx, reason_rx) = mpsc::channel();
    client.set_disconnect_notify(move |r| {
        let _ = reason_tx.send(r.clone());
    });
    client
        .connect("127.0.0.1", port, &ConnectOptions::default())
        .unwrap();
    let reason = wait_for(&reason_rx);
    assert!(
        matches!(reason, DisconnectReason::WebSocket(WsError::Closed(_))),
        "{reason:?}"
    );
    peer.join().unwrap();
}
