//! `Debug` output never shows a password: its length only.

use mqtt_proto::Connect;

const SECRET: &[u8] = b"hunter2";

fn leaks(debug: &str) -> bool {
    // As text, or as the list of byte values a derived `Debug` prints.
    let bytes = format!("{:?}", SECRET);
    debug.contains("hunter2") || debug.contains(bytes.trim_matches(['[', ']']))
}

#[test]
fn connect_debug_redacts_the_password() {
    let c = Connect {
        clean_session: true,
        keep_alive: 30,
        client_id: "dev-1",
        will: None,
        username: Some("alice"),
        password: Some(SECRET),
    };
    let d = format!("{c:?}");
    assert!(!leaks(&d), "{d}");
    assert!(d.contains("7 bytes redacted") && d.contains("alice"), "{d}");
    let none = Connect {
        password: None,
        ..c
    };
    assert!(format!("{none:?}").contains("password: None"));
}

#[cfg(feature = "v5")]
#[test]
fn v5_connect_debug_redacts_the_password() {
    use mqtt_proto::v5;
    let c = v5::Connect {
        clean_start: true,
        keep_alive: 30,
        properties: v5::Properties::new(&[]),
        client_id: "dev-1",
        will: None,
        username: Some("alice"),
        password: Some(SECRET),
    };
    let d = format!("{c:?}");
    assert!(!leaks(&d), "{d}");
    assert!(d.contains("7 bytes redacted"), "{d}");
}
