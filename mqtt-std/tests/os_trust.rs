//! TLS with the operating system's trust store: the test installs the test broker's throwaway
//! CA into the system store (`/usr/local/share/ca-certificates`, `update-ca-certificates`),
//! and `mqttc` then connects by name without `--cafile`; once it is removed again, the same
//! connection is refused as an unknown authority. It changes the machine's trust store for
//! its duration, so it needs root (CI runs as root); elsewhere it says so and does nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::*;

const MQTTC: &str = env!("CARGO_BIN_EXE_mqttc");

/// The CA in the system store while it lives; removed (and the store rebuilt) on drop.
struct InstalledCa(PathBuf);

impl InstalledCa {
    fn install(pem: &str) -> Option<InstalledCa> {
        let dir = PathBuf::from("/usr/local/share/ca-certificates");
        let path = dir.join(format!("mqtt-std-test-{}.crt", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::write(&path, pem).ok()?;
        let ca = InstalledCa(path);
        update_store().then_some(ca)
    }
}

impl Drop for InstalledCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        update_store();
    }
}

fn update_store() -> bool {
    Command::new("update-ca-certificates")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn publish(port: u16) -> Output {
    let port = port.to_string();
    Command::new(MQTTC)
        .args(["pub", "-h", "localhost", "-p", &port, "--tls-use-os-certs"])
        .args(["-t", "os/t", "-m", "trusted by the system", "-q", "1"])
        // The trust store as the system has it, not one named by the environment.
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_system_trust_store_is_used_without_a_ca_file() {
    let b = broker();
    let Some(ca) = InstalledCa::install(b.pki().ca_pem()) else {
        eprintln!("cannot change the system trust store here (needs root): test not run");
        return;
    };
    let o = publish(b.tls_port());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    drop(ca);
    let o = publish(b.tls_port());
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown") || err.contains("UnknownIssuer"),
        "{err}"
    );
}
