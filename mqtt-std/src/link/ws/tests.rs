//! Unit tests of the WebSocket settings, errors and broker URLs.

#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn debug_redacts_credential_headers() {
    let ws = WsConfig::new("/mqtt")
        .header("Authorization", "Bearer s3cr3t-t0ken")
        .header("X-Api-Key", "k-123456")
        .header("Cookie", "session=abcdef")
        .header("X-Device", "thermostat-7");
    let d = format!("{ws:?}");
    for secret in ["s3cr3t-t0ken", "k-123456", "abcdef"] {
        assert!(!d.contains(secret), "{d}");
    }
    assert!(
        d.contains("thermostat-7") && d.contains("Authorization"),
        "{d}"
    );
    assert!(d.contains("<19 bytes redacted>"), "{d}");
}

#[test]
fn urls() {
    let u = BrokerUrl::parse("ws://localhost:9001/mqtt").unwrap();
    assert_eq!((u.host.as_str(), u.port, u.tls), ("localhost", 9001, false));
    assert_eq!(u.websocket.unwrap().path(), "/mqtt");
    let u = BrokerUrl::parse("wss://[::1]/x?y=1").unwrap();
    assert_eq!((u.host.as_str(), u.port, u.tls), ("::1", 443, true));
    assert_eq!(u.websocket.unwrap().path(), "/x?y=1");
    let u = BrokerUrl::parse("mqtts://h").unwrap();
    assert_eq!((u.port, u.tls, u.websocket), (8883, true, None));
    let u = BrokerUrl::parse("ws://h").unwrap();
    assert_eq!((u.port, u.websocket.unwrap().path()), (80, "/mqtt"));
    for bad in [
        "localhost:1883",
        "http://h",
        "ws://:80/",
        "ws://h:0/",
        "ws://h:99999/",
        "ws://[::1/",
        "ws://[::1]x/",
        "mqtt://:pw@h/t",
        "mqtt://h/a#b",
        "mqtt://h/t?x=1",
    ] {
        assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn urls_with_login_and_topic() {
    let u = BrokerUrl::parse("mqtt://alice:p%3Ass%40w0rd@10.0.0.5:1884/home/+/temp").unwrap();
    assert_eq!((u.host.as_str(), u.port, u.tls), ("10.0.0.5", 1884, false));
    assert_eq!(u.username.as_deref(), Some("alice"));
    assert_eq!(u.password.as_deref(), Some("p:ss@w0rd"));
    assert_eq!(u.topic.as_deref(), Some("home/+/temp"));
    assert!(!format!("{u:?}").contains("w0rd"));
    let u = BrokerUrl::parse("mqtt://h/sensors/#").unwrap();
    assert_eq!(u.topic.as_deref(), Some("sensors/#"));
    let u = BrokerUrl::parse("mqtt://h/#").unwrap();
    assert_eq!(u.topic.as_deref(), Some("#"));
    let u = BrokerUrl::parse("mqtt://bob@h").unwrap();
    assert_eq!(
        (u.username.as_deref(), u.password, u.topic),
        (Some("bob"), None, None)
    );
    let u = BrokerUrl::parse("ws://u:p@h:8080/mqtt").unwrap();
    assert_eq!(
        (u.username.as_deref(), u.password.as_deref()),
        (Some("u"), Some("p"))
    );
    assert_eq!(u.websocket.unwrap().path(), "/mqtt");
    let u = BrokerUrl::parse("tcp://h/%C3%A9t%C3%A9").unwrap();
    assert_eq!(u.topic.as_deref(), Some("été"));
}

#[test]
fn request_has_the_sub_protocol_headers_and_host() {
    let r = WsConfig::new("gw")
        .header("Authorization", "Bearer abc")
        .request("::1", 8080, true)
        .unwrap();
    assert_eq!(r.uri().to_string(), "wss://[::1]:8080/gw");
    let h = r.headers();
    assert_eq!(h.get("Sec-WebSocket-Protocol").unwrap(), "mqtt");
    assert_eq!(h.get("Authorization").unwrap(), "Bearer abc");
    let r = WsConfig::new("/m")
        .host("front.example")
        .request("10.0.0.1", 80, false)
        .unwrap();
    assert_eq!(r.headers().get("Host").unwrap(), "front.example");
    assert!(
        WsConfig::new("/m")
            .header("Bad Name", "x")
            .request("h", 1, false)
            .is_err()
    );
}

#[test]
fn text_frame_reason_names_the_rule() {
    assert_eq!(WsError::NonBinaryFrame.rule(), Some("MQTT-6.0.0-1"));
    assert!(
        WsError::NonBinaryFrame
            .to_string()
            .contains("[MQTT-6.0.0-1]")
    );
}
