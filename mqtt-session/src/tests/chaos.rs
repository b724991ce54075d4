//! Any sequence of inputs, commands and polls, in any order, with time jumping back and forth:
//! no panic, and the window and packet-id invariants hold throughout.

use std::collections::BTreeSet;
use std::vec;
use std::vec::Vec;

use mqtt_proto::{ConnAck, ConnectReturnCode, Packet, QoS, QosPid, SubAck, SubAckCodes};
use proptest::prelude::*;

use super::harness::{enc, pid, publish};
use crate::{Config, ConnectOptions, Instant, Session, Store, VecStore};

#[derive(Debug, Clone)]
enum Step {
    TransportUp,
    TransportClosed,
    Connect {
        clean: bool,
        keep_alive: u16,
    },
    Publish {
        qos: u8,
        len: usize,
    },
    Subscribe,
    Unsubscribe,
    Disconnect,
    /// Broker bytes: a valid packet chosen by `kind`, or garbage.
    Receive {
        kind: u8,
        id: u16,
        extra: Vec<u8>,
    },
    PollEvents {
        max: usize,
    },
    PollTransmit {
        size: usize,
    },
    Time {
        ms: i64,
    },
    ZeroCopyReceive {
        kind: u8,
        id: u16,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::TransportUp),
        1 => Just(Step::TransportClosed),
        1 => (any::<bool>(), 0u16..3).prop_map(|(clean, keep_alive)| Step::Connect { clean, keep_alive }),
        3 => (0u8..3, 0usize..80).prop_map(|(qos, len)| Step::Publish { qos, len }),
        1 => Just(Step::Subscribe),
        1 => Just(Step::Unsubscribe),
        1 => Just(Step::Disconnect),
        6 => (0u8..12, 1u16..6, prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(kind, id, extra)| Step::Receive { kind, id, extra }),
        3 => (0usize..4).prop_map(|max| Step::PollEvents { max }),
        3 => (0usize..120).prop_map(|size| Step::PollTransmit { size }),
        2 => (-5_000i64..60_000).prop_map(|ms| Step::Time { ms }),
        1 => (0u8..12, 1u16..6).prop_map(|(kind, id)| Step::ZeroCopyReceive { kind, id }),
    ]
}

fn broker_bytes(kind: u8, id: u16, extra: &[u8]) -> Vec<u8> {
    let id16 = pid(id);
    match kind {
        0 => enc(Packet::ConnAck(ConnAck {
            session_present: id % 2 == 0,
            code: ConnectReturnCode::Accepted,
        })),
        1 => enc(Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::NotAuthorized,
        })),
        2 => publish("t/x", extra, QosPid::AtMostOnce, false),
        3 => publish("t/x", extra, QosPid::AtLeastOnce(id16), id % 2 == 0),
        4 => publish("t/x", extra, QosPid::ExactlyOnce(id16), id % 2 == 0),
        5 => enc(Packet::PubAck(id16)),
        6 => enc(Packet::PubRec(id16)),
        7 => enc(Packet::PubRel(id16)),
        8 => enc(Packet::PubComp(id16)),
        9 => {
            let codes = [0u8, 1, 0x80];
            let n = usize::from(id % 3) + 1;
            enc(Packet::SubAck(SubAck {
                packet_id: id16,
                codes: SubAckCodes::new(codes.get(..n).unwrap_or(&codes)).expect("valid"),
            }))
        }
        10 => enc(Packet::UnsubAck(id16)),
        _ => extra.to_vec(),
    }
}

fn check<S: Store>(s: &Session<S, Vec<u8>>, window: usize) {
    assert!(s.inflight() <= window);
    let store = s.store();
    let mut ids = BTreeSet::new();
    for i in 0..store.outgoing_len() {
        let m = store.outgoing(i).expect("index below len");
        assert!(ids.insert(m.packet_id), "packet id held twice");
    }
}

proptest! {
    #[test]
    fn any_input_order_never_panics(steps in prop::collection::vec(step(), 0..120)) {
        let config = Config::new().with_max_inflight(3).with_max_queued(2);
        let mut s = Session::new(config, VecStore::with_limit(4), vec![0u8; 96], vec![0u8; 160]);
        let mut now: i64 = 1_000_000;
        let at = |t: i64| Instant::from_millis(u64::try_from(t).unwrap_or(0));
        for st in &steps {
            match st {
                Step::TransportUp => s.handle_transport_up(at(now)),
                Step::TransportClosed => s.handle_transport_closed(at(now)),
                Step::Connect { clean, keep_alive } => {
                    let opts = ConnectOptions { clean_session: *clean, keep_alive: *keep_alive, ..ConnectOptions::new("chaos") };
                    let _ = s.connect(at(now), &opts);
                }
                Step::Publish { qos, len } => {
                    let qos = QoS::from_u8(*qos).expect("0..3");
                    let _ = s.publish(at(now), "p/q", &vec![1; *len], qos, *len % 2 == 0);
                }
                Step::Subscribe => { let _ = s.subscribe(at(now), &[("a/+", QoS::AtLeastOnce), ("#", QoS::AtMostOnce)]); }
                Step::Unsubscribe => { let _ = s.unsubscribe(at(now), &["a/+"]); }
                Step::Disconnect => { let _ = s.disconnect(at(now)); }
                Step::Receive { kind, id, extra } => {
                    let bytes = broker_bytes(*kind, *id, extra);
                    let _ = s.handle_receive(at(now), &bytes);
                }
                Step::ZeroCopyReceive { kind, id } => {
                    let bytes = broker_bytes(*kind, *id, &[9, 9]);
                    let space = s.receive_buffer();
                    let n = space.len().min(bytes.len());
                    space.get_mut(..n).expect("n fits").copy_from_slice(bytes.get(..n).expect("n fits"));
                    s.handle_received(at(now), n + 3);
                }
                Step::PollEvents { max } => {
                    for _ in 0..*max {
                        if s.poll_event().is_none() { break; }
                    }
                }
                Step::PollTransmit { size } => {
                    let mut buf = vec![0u8; *size];
                    for _ in 0..4 {
                        match s.poll_transmit(at(now), &mut buf) {
                            Ok(Some(n)) => prop_assert!(n > 0 && n <= *size),
                            Ok(None) => break,
                            Err(e) => { prop_assert!(e.required > *size); break; }
                        }
                    }
                }
                Step::Time { ms } => {
                    now += ms;
                    s.handle_timeout(at(now));
                }
            }
            check(&s, 3);
        }
    }
}
