//! A plain loop of one flow through the session, for measuring CPU time per message with
//! public tools, independently of other load on the machine:
//!
//! ```text
//! cargo build --release -p mqtt-session --example throughput
//! perf stat -e task-clock target/release/examples/throughput qos1 5000000
//! ```
//!
//! `task-clock / count` is the CPU time per message. Flows: `qos0`, `qos1`, `qos2` (publish
//! against scripted acknowledgements), `rx0`, `rx1`, `rx2` (receive).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use mqtt_session::{Config, ConnectOptions, Event, FixedStore, Instant, QoS, Session};

type Fixed = Session<FixedStore<16, 4096>, [u8; 1024]>;

const TOPIC: &str = "sensors/1/temp";
const PAYLOAD: &[u8] = b"{\"temperature\":21.5,\"unit\":\"C\"}";

fn ack(kind: u8, id: u16) -> [u8; 4] {
    let [hi, lo] = id.to_be_bytes();
    [kind, 2, hi, lo]
}

fn incoming(qos: u8) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(TOPIC.len() as u16).to_be_bytes());
    body.extend_from_slice(TOPIC.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&7u16.to_be_bytes());
    }
    body.extend_from_slice(PAYLOAD);
    let mut p = vec![0x30 | (qos << 1), body.len() as u8];
    p.extend(body);
    p
}

fn drain(s: &mut Fixed, out: &mut [u8]) {
    while let Ok(Some(n)) = s.poll_transmit(Instant::ZERO, out) {
        black_box(n);
    }
}

fn main() {
    let flow = std::env::args().nth(1).unwrap_or_else(|| "qos1".into());
    let count: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let now = Instant::ZERO;
    let mut s: Fixed = Session::new(Config::default(), FixedStore::new(), [0; 1024], [0; 1024]);
    s.handle_transport_up(now);
    s.connect(now, &ConnectOptions::new("throughput")).unwrap();
    let mut out = [0u8; 1024];
    drain(&mut s, &mut out);
    s.handle_receive(now, &[0x20, 2, 0, 0]);
    while s.poll_event().is_some() {}
    let rx = [incoming(0), incoming(1), incoming(2)];
    let start = std::time::Instant::now();
    for _ in 0..count {
        match flow.as_str() {
            "qos0" => {
                s.publish(now, TOPIC, black_box(PAYLOAD), QoS::AtMostOnce, false)
                    .unwrap();
                drain(&mut s, &mut out);
            }
            "qos1" | "qos2" => {
                let qos = if flow == "qos1" {
                    QoS::AtLeastOnce
                } else {
                    QoS::ExactlyOnce
                };
                let id = s
                    .publish(now, TOPIC, black_box(PAYLOAD), qos, false)
                    .unwrap()
                    .expect("QoS 1/2 has an id")
                    .get();
                drain(&mut s, &mut out);
                if qos == QoS::ExactlyOnce {
                    s.handle_receive(now, &ack(0x50, id));
                    drain(&mut s, &mut out);
                    s.handle_receive(now, &ack(0x70, id));
                } else {
                    s.handle_receive(now, &ack(0x40, id));
                }
                match s.poll_event() {
                    Some(Event::PublishAcknowledged { .. } | Event::PublishCompleted { .. }) => {}
                    other => panic!("{other:?}"),
                }
            }
            "rx0" | "rx1" | "rx2" => {
                let qos = usize::from(flow.as_bytes()[2] - b'0');
                s.handle_receive(now, black_box(&rx[qos]));
                match s.poll_event() {
                    Some(Event::Message(m)) => {
                        black_box(m.payload);
                    }
                    other => panic!("{other:?}"),
                }
                drain(&mut s, &mut out);
                if qos == 2 {
                    s.handle_receive(now, &ack(0x62, 7));
                    drain(&mut s, &mut out);
                }
            }
            other => panic!("unknown flow {other}"),
        }
    }
    let wall = start.elapsed();
    println!(
        "{flow}: {count} messages, wall {:.1} ns/message",
        wall.as_nanos() as f64 / count as f64
    );
}
