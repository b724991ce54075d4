//! Messages per second through the session alone (no IO): publish at QoS 0/1/2 against
//! scripted acknowledgements, receive at QoS 0/1/2; and the size of the session state.
//!
//! Run: `cargo bench -p mqtt-session --bench session -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mqtt_session::{Config, ConnectOptions, Event, FixedStore, Instant, QoS, Session};

type Fixed = Session<FixedStore<16, 4096>, [u8; 1024]>;

fn connected() -> Fixed {
    let mut s: Fixed = Session::new(Config::default(), FixedStore::new(), [0; 1024], [0; 1024]);
    let now = Instant::ZERO;
    s.handle_transport_up(now);
    s.connect(now, &ConnectOptions::new("bench")).unwrap();
    let mut out = [0u8; 1024];
    s.poll_transmit(now, &mut out).unwrap();
    s.handle_receive(now, &[0x20, 2, 0, 0]);
    while s.poll_event().is_some() {}
    s
}

fn drain(s: &mut Fixed, out: &mut [u8]) -> usize {
    let mut total = 0;
    while let Ok(Some(n)) = s.poll_transmit(Instant::ZERO, out) {
        total += n;
    }
    total
}

fn ack(kind: u8, id: u16) -> [u8; 4] {
    let [hi, lo] = id.to_be_bytes();
    [kind, 2, hi, lo]
}

const PAYLOAD: &[u8] = b"{\"temperature\":21.5,\"unit\":\"C\"}";

fn publish(c: &mut Criterion) {
    let mut g = c.benchmark_group("publish");
    g.throughput(Throughput::Elements(1));
    let mut out = [0u8; 1024];

    let mut s = connected();
    g.bench_function("qos0", |b| {
        b.iter(|| {
            s.publish(
                Instant::ZERO,
                "sensors/1/temp",
                black_box(PAYLOAD),
                QoS::AtMostOnce,
                false,
            )
            .unwrap();
            black_box(drain(&mut s, &mut out));
        })
    });

    let mut s = connected();
    g.bench_function("qos1", |b| {
        b.iter(|| {
            let id = s
                .publish(
                    Instant::ZERO,
                    "sensors/1/temp",
                    black_box(PAYLOAD),
                    QoS::AtLeastOnce,
                    false,
                )
                .unwrap()
                .unwrap();
            black_box(drain(&mut s, &mut out));
            s.handle_receive(Instant::ZERO, &ack(0x40, id.get()));
            match s.poll_event() {
                Some(Event::PublishAcknowledged { .. }) => {}
                other => panic!("{other:?}"),
            }
        })
    });

    let mut s = connected();
    g.bench_function("qos2", |b| {
        b.iter(|| {
            let id = s
                .publish(
                    Instant::ZERO,
                    "sensors/1/temp",
                    black_box(PAYLOAD),
                    QoS::ExactlyOnce,
                    false,
                )
                .unwrap()
                .unwrap();
            black_box(drain(&mut s, &mut out));
            s.handle_receive(Instant::ZERO, &ack(0x50, id.get()));
            black_box(drain(&mut s, &mut out));
            s.handle_receive(Instant::ZERO, &ack(0x70, id.get()));
            match s.poll_event() {
                Some(Event::PublishCompleted { .. }) => {}
                other => panic!("{other:?}"),
            }
        })
    });
    g.finish();
}

/// A PUBLISH from the broker on "sensors/1/temp" with `PAYLOAD`.
fn incoming(qos: u8, id: u16) -> Vec<u8> {
    let topic = b"sensors/1/temp";
    let mut body = Vec::new();
    body.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    body.extend_from_slice(topic);
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(PAYLOAD);
    let mut p = vec![0x30 | (qos << 1), body.len() as u8];
    p.extend(body);
    p
}

fn receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("receive");
    g.throughput(Throughput::Elements(1));
    let mut out = [0u8; 1024];

    for qos in 0u8..3 {
        let mut s = connected();
        let packet = incoming(qos, 7);
        let pubrel = ack(0x62, 7);
        g.bench_function(format!("qos{qos}"), |b| {
            b.iter(|| {
                s.handle_receive(Instant::ZERO, black_box(&packet));
                match s.poll_event() {
                    Some(Event::Message(m)) => {
                        black_box(m.payload);
                    }
                    other => panic!("{other:?}"),
                }
                black_box(drain(&mut s, &mut out));
                if qos == 2 {
                    s.handle_receive(Instant::ZERO, &pubrel);
                    black_box(drain(&mut s, &mut out));
                }
            })
        });
    }
    g.finish();
}

fn sizes(_: &mut Criterion) {
    println!(
        "size_of Session<FixedStore<16, 4096>, [u8; 1024]> = {} bytes (of which store {}, buffers 2048)",
        std::mem::size_of::<Fixed>(),
        std::mem::size_of::<FixedStore<16, 4096>>(),
    );
    println!(
        "size_of Session<VecStore, Vec<u8>> = {} bytes (plus the heap buffers)",
        std::mem::size_of::<Session<mqtt_session::VecStore, Vec<u8>>>(),
    );
}

criterion_group!(benches, sizes, publish, receive);
criterion_main!(benches);
