//! MQTT 5.0 over TCP through `mqtt-std`'s public API (section 4.2, and the closing of the
//! network connection of sections 3.14.4 and 4.13.2): a scripted broker on loopback reads and
//! writes exact bytes.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use conformance::v5::wire5::{self, string};
use conformance::wire;
use mqtt_session::v5::ConnectReasonCode;
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, ProtocolVersion, QoS};

const WAIT: Duration = Duration::from_secs(20);

/// The broker's end of one TCP connection.
struct Broker {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Broker {
    fn accept(listener: &TcpListener) -> Broker {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        tcp.set_nodelay(true).unwrap();
        Broker {
            tcp,
            buf: Vec::new(),
        }
    }

    /// The next whole packet from the client; `None` once it closed its side.
    fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(n) = wire::frame_len(&self.buf) {
                if self.buf.len() >= n {
                    return Some(self.buf.drain(..n).collect());
                }
            }
            let mut chunk = [0u8; 4096];
            match self.tcp.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("broker read: {e}"),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).unwrap();
        self.tcp.flush().unwrap();
    }
}

fn v5() -> ConnectOptions {
    ConnectOptions::default().protocol(ProtocolVersion::V5)
}

#[test]
fn mqtt5_4_2_0_1_mqtt_over_a_tcp_byte_stream() {
    // TCP gives an ordered, lossless stream of bytes both ways; the client uses it as one,
    // whatever the segment boundaries [MQTT-4.2.0-1]: packets cut anywhere and packed
    // together arrive whole and in order, and its own packets go out whole and in order.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done, flow_done) = mpsc::channel();
    let peer = thread::spawn(move || {
        let mut b = Broker::accept(&listener);
        assert_eq!(
            b.next().unwrap(),
            // Its only property: the receive limit as Maximum Packet Size (1 MiB by default).
            wire5::connect(0x02, 60, &wire5::p_u32(0x27, 1 << 20), &string("tcp-5"))
        );
        // CONNACK one byte at a time.
        for byte in wire5::connack(0, 0, &[]) {
            b.send(&[byte]);
        }
        // The client's QoS 1 publish, then our PUBACK.
        let publish = b.next().unwrap();
        assert_eq!(publish, wire5::publish_out("up", b"1", 1, 1, false, false));
        b.send(&wire5::ack(0x40, 1));
        // Four messages: two in one write, the third cut in two, the fourth with its end.
        let one = wire5::publish("m/1", b"one", 0, 0, false, &[]);
        let two = wire5::publish("m/2", b"two", 1, 7, false, &wire5::p_user("k", "v"));
        let three = wire5::publish("m/3", &[0x33; 300], 0, 0, false, &[]);
        let four = wire5::publish("m/4", b"four", 2, 8, false, &[]);
        b.send(&[one, two, three[..5].to_vec()].concat());
        b.send(&[three[5..].to_vec(), four].concat());
        assert_eq!(b.next().unwrap(), wire5::ack(0x40, 7));
        assert_eq!(b.next().unwrap(), wire5::ack(0x50, 8));
        b.send(&wire5::ack(0x62, 8));
        assert_eq!(b.next().unwrap(), wire5::ack(0x70, 8));
        done.send(()).unwrap();
        // DISCONNECT, then the client closes its side [MQTT-3.14.4-2].
        assert_eq!(b.next().unwrap(), [0xE0, 0x00]);
        assert_eq!(b.next(), None, "nothing after DISCONNECT, then EOF");
    });
    let c = Client::new(ClientOptions::new("tcp-5")).unwrap();
    c.connect("127.0.0.1", port, &v5()).unwrap();
    c.publish("up", b"1", QoS::AtLeastOnce, false)
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        let m = c.recv_timeout(WAIT).unwrap();
        got.push((m.topic, m.payload.len(), m.qos));
    }
    assert_eq!(
        got,
        [
            ("m/1".to_owned(), 3, QoS::AtMostOnce),
            ("m/2".to_owned(), 3, QoS::AtLeastOnce),
            ("m/3".to_owned(), 300, QoS::AtMostOnce),
            ("m/4".to_owned(), 4, QoS::ExactlyOnce),
        ]
    );
    // The QoS 2 flow is over (the broker has its PUBCOMP): disconnect.
    flow_done.recv_timeout(WAIT).unwrap();
    c.disconnect().unwrap();
    peer.join().unwrap();
}

#[test]
fn mqtt5_4_13_2_1_a_refusal_closes_the_tcp_connection() {
    // CONNACK 0x87 (Not authorized): the client closes the network connection
    // [MQTT-4.13.2-1]: the broker's next read is the end of the stream, nothing before it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let mut b = Broker::accept(&listener);
        assert_eq!(b.next().unwrap()[0], 0x10);
        b.send(&wire5::connack(0, 0x87, &[]));
        assert_eq!(b.next(), None);
    });
    let c = Client::new(ClientOptions::new("refused-5")).unwrap();
    let refused = c.connect("127.0.0.1", port, &v5()).unwrap_err();
    assert!(
        matches!(
            refused,
            Error::RefusedV5 {
                code: ConnectReasonCode::NotAuthorized,
                ..
            }
        ),
        "{refused:?}"
    );
    peer.join().unwrap();
    assert!(!c.is_connected());
}

#[test]
fn mqtt5_3_14_4_2_after_a_disconnect_for_a_protocol_error_the_client_closes() {
    // The broker sends PINGREQ, which a client never receives: the client sends DISCONNECT
    // 0x82 and nothing more [MQTT-3.14.4-1], then closes the connection [MQTT-3.14.4-2].
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = thread::spawn(move || {
        let mut b = Broker::accept(&listener);
        assert_eq!(b.next().unwrap()[0], 0x10);
        b.send(&wire5::connack(0, 0, &[]));
        b.send(&wire5::PINGREQ);
        assert_eq!(b.next().unwrap(), [0xE0, 0x01, 0x82]);
        assert_eq!(b.next(), None);
    });
    let c = Client::new(ClientOptions::new("violation-5")).unwrap();
    c.connect("127.0.0.1", port, &v5()).unwrap();
    peer.join().unwrap();
    // The connection is over for the client too: commands are refused.
    assert!(c.publish("t", b"x", QoS::AtMostOnce, false).is_err());
}
