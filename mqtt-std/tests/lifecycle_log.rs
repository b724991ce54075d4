//! The connection lifecycle through the `log` facade (feature `log`, target `mqtt_std`):
//! connect, the end of a link with its reason, a reconnect scheduled and made, the
//! subscriptions sent again. A logger of the test's own records what the client logs.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::*;
use mqtt_std::{Client, ClientOptions, ConnectOptions, QoS, Reconnect};

struct Recorder(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Recorder {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.target() == "mqtt_std"
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0
                .lock()
                .unwrap()
                .push((r.level(), r.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static LOG: Recorder = Recorder(Mutex::new(Vec::new()));

fn wait_logged(needle: &str) -> (log::Level, String) {
    let until = std::time::Instant::now() + WAIT;
    loop {
        if let Some(r) = LOG
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|(_, m)| m.contains(needle))
        {
            return r.clone();
        }
        assert!(
            std::time::Instant::now() < until,
            "no log line with {needle:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn the_lifecycle_is_logged() {
    log::set_logger(&LOG).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let mut broker = broker();
    let c = Client::new(ClientOptions::new(id("log")).reconnect(Some(Reconnect {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(500),
    })))
    .unwrap();
    c.connect("127.0.0.1", broker.port(), &ConnectOptions::default())
        .unwrap();
    let at = format!("127.0.0.1:{}", broker.port());
    assert_eq!(wait_logged("link open (TCP)").0, log::Level::Debug);
    let (level, line) = wait_logged(&format!("connected to {at}"));
    assert_eq!(level, log::Level::Info);
    assert!(line.contains("session present: false"), "{line}");
    c.subscribe(&[("log/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait_timeout(WAIT)
        .unwrap();

    broker.restart().unwrap();
    let (level, line) = wait_logged(&format!("{at}: connection ended"));
    assert_eq!(level, log::Level::Warn);
    assert!(line.contains("closed by the broker"), "{line}");
    assert_eq!(wait_logged("reconnecting in").0, log::Level::Info);
    wait_logged("subscribing again to [(\"log/#\", AtLeastOnce)]");

    c.disconnect().unwrap();
    let (level, _) = wait_logged(&format!("{at}: connection closed"));
    assert_eq!(level, log::Level::Info);
}
