//! Scripted 5.0 scenarios in the target's input form: the `session` seeds `seed-v5-*`, and
//! what each must reach (checked by `seeds_reach_what_they_are_for`).

use crate::input::Out;
use crate::session::scripts::{AUTO, DROP};

use super::model::Stats;

/// The CONNACK limits of a setup (see `ServerProps::read`): bytes as read.
#[derive(Clone, Copy)]
pub struct Server {
    /// Receive Maximum byte: 0 absent, else the value (1 to 254).
    pub receive_maximum: u8,
    /// Maximum Packet Size byte: 0 absent, else 8 times it.
    pub maximum_packet_size: u8,
    /// Topic Alias Maximum byte: 0 absent, else the value modulo 16.
    pub topic_alias_maximum: u8,
    /// Flags: Maximum QoS (bits 0-1), Retain Available (2-3), wildcard (4-5), subscription
    /// identifiers (6-7): 0 absent, 1 false / QoS 0, 2 true / QoS 1.
    pub flags: u8,
    /// Shared (bits 0-1), session expiry (2-3: absent, 0, 60, next byte), keep alive (bit 4,
    /// next byte).
    pub flags2: u8,
}

impl Server {
    pub const PLAIN: Server = Server {
        receive_maximum: 0,
        maximum_packet_size: 0,
        topic_alias_maximum: 0,
        flags: 0,
        flags2: 0,
    };

    fn write(&self, o: &mut Out) {
        o.u8(self.receive_maximum)
            .u8(self.maximum_packet_size)
            .u8(self.topic_alias_maximum)
            .u8(self.flags)
            .u8(self.flags2);
    }
}

/// A 5.0 setup.
#[derive(Clone, Copy)]
pub struct Setup5 {
    /// Window index (0, 1, 2, 3, 4, 8, 16, 2000).
    pub window: u8,
    pub queue: u8,
    /// 3.1.1 setup flags (`DROP`, `FIXED`, `AUTO`).
    pub flags: u8,
    pub server: Server,
    /// Our CONNECT limits, bytes as read (0: absent).
    pub receive_maximum: u8,
    pub maximum_packet_size: u8,
    pub topic_alias_maximum: u8,
    /// `Config::outgoing_topic_aliases`.
    pub aliases: u8,
    /// Offline publishing.
    pub offline: bool,
}

impl Setup5 {
    pub const PLAIN: Setup5 = Setup5 {
        window: 6,
        queue: 0,
        flags: AUTO,
        server: Server::PLAIN,
        receive_maximum: 0,
        maximum_packet_size: 0,
        topic_alias_maximum: 0,
        aliases: 0,
        offline: false,
    };
}

/// A byte whose residue modulo 3 is `qos` (the harness reads a QoS as `b % 3`), with the bits
/// of `bits` above bit 1 kept.
fn with_qos(bits: u8, qos: u8) -> u8 {
    (0..4)
        .map(|k| (bits & !3) | k)
        .find(|b| b % 3 == qos)
        .unwrap_or(bits)
}

pub struct Script5(Out);

impl Script5 {
    pub fn new(s: Setup5) -> Script5 {
        let mut o = Out::default();
        o.u8(crate::session::V5);
        // The 3.1.1 setup: long timeouts, no size limit, 767-byte buffers.
        o.u8(s.window)
            .u8(s.queue)
            .u8(100)
            .u8(100)
            .u8(0)
            .u8(255)
            .u8(255)
            .u8(s.flags)
            .u8(0);
        s.server.write(&mut o);
        o.u8(s.receive_maximum)
            .u8(s.maximum_packet_size)
            .u8(s.topic_alias_maximum)
            .u8(s.aliases)
            .u8(u8::from(s.offline));
        Script5(o)
    }
    pub fn up(mut self) -> Self {
        self.0.u8(0);
        self
    }
    pub fn closed(mut self) -> Self {
        self.0.u8(1);
        self
    }
    /// CONNECT with Clean Start or not, keep alive, and a Session Expiry Interval selector (0
    /// absent, 1 zero, 2 ten seconds, 3 the maximum, 5 one second).
    pub fn connect(mut self, clean: bool, keep_alive: u8, expiry: u8) -> Self {
        self.0
            .u8(2)
            .u8(u8::from(clean))
            .u8(keep_alive)
            .u8(expiry)
            .u8(0)
            .u8(0)
            .bytes(b"")
            .str("");
        self
    }
    /// CONNECT with a will, will properties, a user property and Request Problem Information.
    pub fn connect_full(mut self, clean: bool, expiry: u8) -> Self {
        self.0
            .u8(2)
            .u8(u8::from(clean) | 2 | 4 | 8)
            .u8(30)
            .u8(expiry)
            .u8(1 | 2 | 4)
            .u8(1)
            .bytes(b"gone")
            .str("value");
        self
    }
    /// A CONNECT with an Authentication Method (`auth`: the cooperative broker's CONNACK then
    /// lacks it, which ends the connection), or one the session must refuse: will properties
    /// without a will.
    pub fn connect_refused(mut self, auth: bool) -> Self {
        let extra = if auth { 0x10 } else { 0x20 };
        self.0
            .u8(2)
            .u8(1)
            .u8(0)
            .u8(0)
            .u8(extra)
            .u8(0)
            .bytes(b"")
            .str("");
        self
    }
    pub fn publish(mut self, qos: u8, topic: u8, payload: &[u8]) -> Self {
        self.0.u8(3).u8(with_qos(0, qos)).u8(topic).bytes(payload);
        self
    }
    /// A publish with properties: bits of `p` as `publish_v5` reads them (1 payload format,
    /// 2 expiry, 4 content type, 8 response topic, 0x10 correlation data, 0x20 user property,
    /// 0x40 a forbidden one picked by `kind` 0 to 15).
    pub fn publish_props(mut self, qos: u8, topic: u8, payload: &[u8], p: u8, kind: u8) -> Self {
        self.0
            .u8(3)
            .u8(with_qos(8 | (kind << 4), qos))
            .u8(topic)
            .bytes(payload)
            .u8(p);
        if p & 0x10 != 0 {
            self.0.bytes(b"corr");
        }
        if p & 0x20 != 0 {
            self.0.str("v");
        }
        self
    }
    /// `subscribe_with`: (filter byte, options byte) pairs, a Subscription Identifier, a user
    /// property.
    pub fn subscribe(mut self, filters: &[(u8, u8)], subscription_id: Option<u8>) -> Self {
        self.0.u8(4).u8(filters.len() as u8);
        for (f, o) in filters {
            self.0.u8(*f).u8(*o);
        }
        let p = if subscription_id.is_some() { 1 | 4 } else { 0 };
        self.0.u8(p);
        if p & 4 != 0 {
            self.0.str("u");
        }
        if let Some(id) = subscription_id {
            self.0.u8(id);
        }
        self
    }
    pub fn unsubscribe(mut self, filters: &[u8]) -> Self {
        self.0.u8(5).u8(filters.len() as u8);
        for f in filters {
            self.0.u8(*f);
        }
        self
    }
    /// `disconnect()`.
    pub fn disconnect(mut self) -> Self {
        self.0.u8(6).u8(0);
        self
    }
    /// `disconnect_with` the reason code at `code` in `DISCONNECT_CODES`, a Session Expiry
    /// Interval (selector 0 to 3: 0, 1, 3600, the maximum) and a Reason String.
    pub fn disconnect_with(mut self, code: u8, expiry: Option<u8>) -> Self {
        let p = 8 | expiry.map_or(0, |e| 1 | (e << 1));
        self.0.u8(6).u8(1).u8(code).u8(p).str("bye");
        self
    }
    /// The cooperative broker answers up to `n` client packets.
    pub fn answer(mut self, n: u8) -> Self {
        self.0.u8(7).u8(12).u8(n - 1);
        self
    }
    /// A CONNACK: `b` as `broker_packet_v5` reads it (bit 4: refused with the code it picks,
    /// bit 7: session present), the setup's limits, a Reason String.
    pub fn connack(mut self, b: u8) -> Self {
        self.0.u8(7).u8(0).u8(b).u8(2).str("why");
        self
    }
    /// A CONNACK with its own limits.
    pub fn connack_with(mut self, b: u8, server: Server) -> Self {
        self.0.u8(7).u8(0).u8(b).u8(1);
        server.write(&mut self.0);
        self
    }
    /// A PUBLISH from the broker with its own packet id. `alias`: 0 none, 1 topic and alias
    /// `a`, 2 empty topic and alias `a` (alias byte as read: below 0xF0, `a % 8 + 1`).
    pub fn incoming(
        mut self,
        qos: u8,
        id: u16,
        topic: u8,
        alias: u8,
        a: u8,
        payload: &[u8],
    ) -> Self {
        let flags = with_qos(alias << 4, qos);
        self.0
            .u8(7)
            .u8(1)
            .u8(flags)
            .u8(0xFF)
            .u16(id)
            .u8(topic)
            .u8(a)
            .u8(4 | 0x40)
            .bytes(payload);
        self
    }
    /// PUBACK (kind 2) to PUBCOMP (5) for the latest id used, with the reason code `b` picks
    /// (PUBACK/PUBREC: `PUBACK_CODES[b % 9]`; PUBREL/PUBCOMP: bit 0 for 0x92) and, with bit 7,
    /// a Reason String.
    pub fn ack(mut self, kind: u8, b: u8) -> Self {
        self.0.u8(7).u8(kind).u8(0).u8(b);
        if b & 0x80 != 0 {
            self.0.str("because");
        }
        self
    }
    /// PUBREL from the broker for `id`.
    pub fn pubrel(mut self, id: u16) -> Self {
        self.0.u8(7).u8(4).u8(0xFF).u16(id).u8(0);
        self
    }
    /// SUBACK (6) or UNSUBACK (7) for the latest id used, codes picked by `b` (below 0xE0: one
    /// per filter requested).
    pub fn sub_ack(mut self, kind: u8, b: u8) -> Self {
        self.0.u8(7).u8(kind).u8(0).u8(b);
        self
    }
    /// A broker DISCONNECT with the code at `code` in `DISCONNECT_CODES`; `m` as read (1 a
    /// Reason String, 2 a Server Reference, 8 a Session Expiry Interval).
    pub fn server_disconnect(mut self, code: u8, m: u8) -> Self {
        self.0.u8(7).u8(9).u8(code).u8(m);
        if m & 1 != 0 {
            self.0.str("shutting down");
        }
        self
    }
    pub fn auth(mut self) -> Self {
        self.0.u8(7).u8(10).u8(1);
        self
    }
    pub fn raw(mut self, bytes: &[u8], chunk: u8) -> Self {
        self.0.u8(8).bytes(bytes).u8(chunk);
        self
    }
    pub fn tick_s(mut self, s: u8) -> Self {
        self.0.u8(11).u8(1).u8(s);
        self
    }
    pub fn events(mut self, n: u8) -> Self {
        self.0.u8(12).u8(n - 1);
        self
    }
    pub fn transmit(mut self, size: u8) -> Self {
        self.0.u8(13).u8(size);
        self
    }
    pub fn restart(mut self) -> Self {
        self.0.u8(14);
        self
    }
    pub fn settle(mut self) -> Self {
        self.0.u8(15);
        self
    }
    pub fn bytes(self) -> Vec<u8> {
        self.0.0
    }
}

thread_local! {
    static LAST: std::cell::Cell<Option<Stats>> = const { std::cell::Cell::new(None) };
}

/// Keep what a 5.0 run reached, for the test below.
pub(crate) fn record(stats: Stats) {
    LAST.with(|l| l.set(Some(stats)));
}

/// A check of what a seed reached.
pub type Reach = fn(&Stats) -> bool;

/// The scripted 5.0 scenarios: name, input, and what the run must reach.
pub fn all() -> Vec<(&'static str, Vec<u8>, Reach)> {
    let plain = Setup5::PLAIN;
    let connected = |s: Setup5| Script5::new(s).up().connect(true, 30, 0).answer(1);
    vec![
        (
            "v5-connect-qos1-qos2-subscribe",
            Script5::new(plain)
                .up()
                .connect_full(true, 0)
                .answer(1)
                .publish(1, 1, b"at least once")
                .answer(1)
                .publish(2, 0, b"exactly once")
                .answer(1)
                .answer(1)
                .publish_props(0, 2, b"{}", 1 | 2 | 4 | 8 | 0x10 | 0x20, 0)
                .subscribe(&[(0, 1), (0x80, 2 | 8 | 0x10), (3, 0x21)], Some(7))
                .answer(1)
                .unsubscribe(&[0, 3])
                .answer(1)
                .incoming(1, 7, 1, 0, 0, b"q1")
                .incoming(2, 9, 2, 0, 0, b"q2")
                .pubrel(9)
                .disconnect_with(0, None)
                .settle()
                .bytes(),
            |s| {
                s.connected == 1
                    && s.acknowledged == 1
                    && s.completed == 1
                    && s.subscribed == 1
                    && s.unsubscribed == 1
                    && s.messages == 2
                    && s.client_disconnects == 1
            },
        ),
        (
            "v5-topic-aliases-both-ways",
            connected(Setup5 {
                server: Server {
                    topic_alias_maximum: 4,
                    ..Server::PLAIN
                },
                topic_alias_maximum: 4,
                aliases: 2,
                ..plain
            })
            .publish(0, 1, b"sets alias 1")
            .publish(0, 1, b"uses alias 1")
            .publish(0, 2, b"sets alias 2")
            .publish(0, 3, b"no alias left")
            .publish(0, 2, b"uses alias 2")
            .publish(1, 1, b"QoS 1 carries its topic")
            .answer(1)
            .incoming(0, 1, 2, 1, 0, b"sets 1")
            .incoming(1, 3, 0, 2, 0, b"uses 1")
            .incoming(0, 1, 4, 1, 1, b"sets 2")
            .incoming(0, 1, 0, 2, 1, b"uses 2")
            .incoming(0, 1, 1, 1, 0, b"replaces 1")
            .incoming(0, 1, 0, 2, 0, b"uses 1 again")
            .settle()
            .bytes(),
            |s| s.aliases_out_set == 2 && s.aliases_out_used == 2 && s.messages_via_alias == 3,
        ),
        (
            "v5-incoming-alias-errors",
            connected(Setup5 {
                topic_alias_maximum: 2,
                ..plain
            })
            .incoming(0, 1, 0, 2, 0, b"alias 1 never set")
            .up()
            .connect(true, 0, 0)
            .answer(1)
            .incoming(0, 1, 1, 1, 5, b"alias 6 above 2")
            .settle()
            .bytes(),
            |s| s.violations == 2 && s.messages == 0,
        ),
        (
            "v5-receive-maximum-at-its-limit",
            connected(Setup5 {
                window: 5,
                queue: 3,
                server: Server {
                    receive_maximum: 2,
                    ..Server::PLAIN
                },
                ..plain
            })
            .publish(1, 0, b"one")
            .publish(2, 1, b"two")
            .publish(1, 2, b"three")
            .publish(2, 3, b"four")
            .publish(1, 4, b"five")
            .answer(1)
            .answer(2)
            .answer(2)
            .answer(2)
            .answer(2)
            .answer(2)
            .settle()
            .bytes(),
            |s| s.receive_maximum_full >= 2 && s.acknowledged == 3 && s.completed == 2,
        ),
        (
            "v5-error-reason-codes",
            connected(plain)
                .publish(1, 0, b"refused")
                .ack(2, 2 | 0x80)
                .publish(2, 0, b"refused too")
                .ack(3, 4)
                .publish(2, 1, b"accepted, then not found")
                .ack(3, 1)
                .ack(5, 1 | 0x80)
                .publish(1, 1, b"no matching subscribers")
                .ack(2, 1)
                .subscribe(&[(0, 1), (1, 2), (2, 0)], None)
                .sub_ack(6, 0x53)
                .unsubscribe(&[0, 1])
                .sub_ack(7, 0x01)
                .up()
                .connect(true, 0, 0)
                .connack(0x10 | 6)
                .settle()
                .bytes(),
            |s| s.rejected == 2 && s.completed == 1 && s.refused == 1 && s.error_responses >= 4,
        ),
        (
            "v5-server-disconnect",
            connected(plain)
                .server_disconnect(10, 1 | 2)
                .up()
                .connect(true, 0, 0)
                .answer(1)
                .server_disconnect(0, 8)
                .settle()
                .bytes(),
            |s| s.server_disconnects == 1 && s.violations == 1,
        ),
        (
            "v5-restart-with-session-expiry",
            Script5::new(Setup5 {
                flags: AUTO | DROP,
                ..plain
            })
            .up()
            .connect(false, 0, 3)
            .answer(1)
            .publish(1, 0, b"kept")
            .publish(2, 1, b"kept too")
            .restart()
            .up()
            .connect(false, 0, 3)
            .answer(1)
            .answer(8)
            .answer(8)
            .settle()
            .bytes(),
            |s| s.restarts == 1 && s.resumed == 2 && s.acknowledged == 1 && s.completed == 1,
        ),
        (
            "v5-session-expiry-and-disconnect-codes",
            connected(plain)
                .disconnect_with(17, Some(2))
                .disconnect_with(1, Some(0))
                .up()
                .connect(false, 0, 2)
                .answer(1)
                .disconnect_with(13, Some(3))
                .up()
                .connect_refused(false)
                .connect(true, 0, 1)
                .answer(1)
                .disconnect()
                .settle()
                .bytes(),
            |s| s.client_disconnects == 3 && s.connected == 3,
        ),
        (
            "v5-violations",
            connected(Setup5 {
                maximum_packet_size: 4,
                ..plain
            })
            .incoming(0, 1, 2, 0, 0, b"above our Maximum Packet Size of 32")
            .up()
            .connect(true, 0, 0)
            .answer(1)
            .auth()
            .up()
            .connect(true, 0, 0)
            .answer(1)
            .raw(b"\x40\x03\x00\x01\x05", 255)
            .up()
            .connect(true, 0, 0)
            .connack(0x80)
            .settle()
            .bytes(),
            |s| s.violations == 3,
        ),
        (
            "v5-manual-polling-and-new-limits",
            Script5::new(Setup5 {
                window: 5,
                flags: 0,
                ..plain
            })
            .up()
            .connect(false, 5, 3)
            .transmit(3)
            .transmit(255)
            .connack_with(
                0x80,
                Server {
                    receive_maximum: 3,
                    ..Server::PLAIN
                },
            )
            .events(4)
            .publish(1, 0, b"one")
            .publish(1, 1, b"two")
            .publish(2, 2, b"three")
            .publish(1, 3, b"four")
            .transmit(20)
            .transmit(255)
            .closed()
            .events(8)
            .up()
            .connect(false, 5, 3)
            .transmit(255)
            .connack_with(
                0x80,
                Server {
                    receive_maximum: 1,
                    topic_alias_maximum: 3,
                    ..Server::PLAIN
                },
            )
            .events(8)
            .transmit(255)
            .tick_s(6)
            .transmit(255)
            .settle()
            .bytes(),
            |s| s.receive_maximum_full >= 2 && s.resumed == 2,
        ),
        (
            "v5-offline-publish-and-limits",
            Script5::new(Setup5 {
                offline: true,
                server: Server {
                    maximum_packet_size: 8,
                    flags: 2 | (1 << 2),
                    ..Server::PLAIN
                },
                ..plain
            })
            .publish(1, 0, b"held offline")
            .up()
            .connect(true, 0, 0)
            .answer(1)
            .publish(2, 0, b"QoS 2 above the maximum")
            .publish(1, 0, b"x")
            .answer(2)
            .publish(
                0,
                2,
                b"too large for 64 bytes, far too large for sixty four",
            )
            .settle()
            .bytes(),
            |s| s.connected == 1 && s.acknowledged >= 1,
        ),
    ]
}

#[test]
fn seeds_reach_what_they_are_for() {
    for (name, bytes, reach) in all() {
        LAST.with(|l| l.set(None));
        crate::session(&bytes);
        let Some(stats) = LAST.with(std::cell::Cell::take) else {
            panic!("{name} did not run the 5.0 half");
        };
        assert!(reach(&stats), "{name} reached {stats:?}");
    }
}
