//! The durable store on a real file system: private files, the lock on the log itself (also
//! across a compaction), a symbolic link planted at the compaction file, and a full disk (a
//! small tmpfs, where the machine lets the test mount one) met by a real client publishing
//! to Mosquitto: a typed error naming the cause, and the client working again once there is
//! room.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use mqtt_session::{Outgoing, OutgoingState, Store};
use mqtt_std::store::{FileStore, FileStoreOptions, LOG_FILE, StoreError};
use mqtt_std::{Client, ClientOptions, ConnectOptions, Error, PacketId, QoS};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mqtt-store-disk-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

fn push(s: &mut FileStore, id: u16, payload: &[u8]) {
    s.push_outgoing(&Outgoing {
        packet_id: PacketId::new(id).unwrap(),
        qos: QoS::AtLeastOnce,
        retain: false,
        state: OutgoingState::Publish,
        topic: "t",
        payload,
        properties: &[],
        expires: None,
    })
    .unwrap();
}

#[test]
fn the_directory_and_files_are_private() {
    let d = dir("private");
    let mut s = FileStore::open(d.join("nested/store")).unwrap();
    push(&mut s, 1, b"secret");
    s.compact_now().unwrap();
    let store = d.join("nested/store");
    assert_eq!(mode(&store), 0o700);
    assert_eq!(mode(&d.join("nested")), 0o700);
    assert_eq!(mode(&store.join(LOG_FILE)), 0o600);
    drop(s);
    // A log left readable by others (by an earlier version, or by hand) is made private.
    fs::set_permissions(store.join(LOG_FILE), fs::Permissions::from_mode(0o644)).unwrap();
    drop(FileStore::open(&store).unwrap());
    assert_eq!(mode(&store.join(LOG_FILE)), 0o600);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_symbolic_link_at_the_compaction_file_is_not_followed() {
    let d = dir("symlink");
    let victim = d.with_extension("victim");
    fs::write(&victim, b"do not touch").unwrap();
    let mut s = FileStore::open(&d).unwrap();
    push(&mut s, 1, b"payload");
    std::os::unix::fs::symlink(&victim, d.join("session.log.tmp")).unwrap();
    s.compact_now().unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"do not touch");
    drop(s);
    // A log that is itself a symbolic link is refused, not followed.
    let log = d.join(LOG_FILE);
    fs::rename(&log, d.with_extension("real")).unwrap();
    std::os::unix::fs::symlink(d.with_extension("real"), &log).unwrap();
    match FileStore::open(&d) {
        Err(StoreError::Io { what, .. }) => assert_eq!(what, "open log"),
        other => panic!("{other:?}"),
    }
    fs::remove_dir_all(&d).unwrap();
    fs::remove_file(&victim).unwrap();
    fs::remove_file(d.with_extension("real")).unwrap();
}

#[test]
fn the_lock_is_on_the_log_and_moves_with_a_compaction() {
    let d = dir("lock");
    let mut s = FileStore::open(&d).unwrap();
    // No lock file beside the log that could be deleted to get in.
    let names: Vec<_> = fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [LOG_FILE]);
    assert!(matches!(
        FileStore::open(&d),
        Err(StoreError::Locked { .. })
    ));
    for round in 0..5u16 {
        push(&mut s, round + 1, b"x");
        s.compact_now().unwrap();
        // The log at the path is a new file now: still locked.
        assert!(
            matches!(FileStore::open(&d), Err(StoreError::Locked { .. })),
            "after compaction {round}"
        );
    }
    drop(s);
    assert_eq!(FileStore::open(&d).unwrap().outgoing_len(), 5);
    fs::remove_dir_all(&d).unwrap();
}

/// A small tmpfs, unmounted on drop; `None` where the machine does not let the test mount.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(name: &str, size: &str) -> Option<Tmpfs> {
        let d = dir(name);
        fs::create_dir_all(&d).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&d)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(Tmpfs(d))
        } else {
            let _ = fs::remove_dir(&d);
            None
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Fills the file system at `dir` until a write fails.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut f = fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    while f.write_all(&block[..1]).is_ok() {}
    path
}

#[test]
fn a_full_disk_fails_the_publish_with_its_cause_and_the_client_recovers_with_room() {
    let Some(tmpfs) = Tmpfs::mount("tmpfs", "1m") else {
        // The simulated disk's full-disk test (in the store's unit tests) covers the store
        // itself; this one needs a real file system that can fill up.
        eprintln!("cannot mount a tmpfs here: the real full-disk test does not run");
        return;
    };
    let b = broker();
    let sub = connected(&b, "full-sub");
    sub.subscribe(&[("full/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    let store = tmpfs.0.join("store");
    let c = Client::new(
        ClientOptions::new(id("full-pub")).session_store_with(&store, FileStoreOptions::default()),
    )
    .unwrap();
    let persistent = ConnectOptions::default().clean_session(false);
    c.connect("127.0.0.1", b.port(), &persistent).unwrap();
    c.publish("full/1", b"before", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(recv(&sub).payload, b"before");

    let filler = fill(&tmpfs.0);
    let err = c
        .publish("full/2", &[7u8; 8192], QoS::AtLeastOnce, false)
        .unwrap_err();
    match &err {
        Error::Store(StoreError::Io { kind, .. }) => {
            assert_eq!(*kind, std::io::ErrorKind::StorageFull, "{err}");
        }
        other => panic!("{other:?}"),
    }
    // The message says what happened, not "in-flight store failed".
    let text = err.to_string();
    assert!(
        text.contains("write log") && text.contains("space"),
        "{text}"
    );
    // Still full: still refused, with the same cause.
    assert!(matches!(
        c.publish("full/3", b"x", QoS::AtLeastOnce, false),
        Err(Error::Store(StoreError::Io { .. }))
    ));

    // Room again: the next publish works and is delivered, with nothing before it lost.
    fs::remove_file(&filler).unwrap();
    c.publish("full/4", b"after", QoS::AtLeastOnce, false)
        .unwrap()
        .wait()
        .unwrap();
    let m = recv(&sub);
    assert_eq!(
        (m.topic.as_str(), &m.payload[..]),
        ("full/4", &b"after"[..])
    );
    assert!(c.is_connected());
    c.disconnect().unwrap();
    drop(c);
    // The store reopens cleanly and holds nothing unfinished.
    let s = FileStore::open(&store).unwrap();
    assert_eq!(s.outgoing_len(), 0);
    assert_eq!(s.accepted_publishes(), 2);
}

/// The same with the tokio client: the full disk's cause reaches the publish, and the next
/// publish with room goes through.
#[tokio::test]
async fn tokio_client_full_disk_fails_the_publish_with_its_cause_and_recovers() {
    let Some(tmpfs) = Tmpfs::mount("tmpfs-tokio", "1m") else {
        eprintln!("cannot mount a tmpfs here: the real full-disk test does not run");
        return;
    };
    let b = broker();
    let sub = connected(&b, "tk-full-sub");
    sub.subscribe(&[("tkfull/#", QoS::AtLeastOnce)])
        .unwrap()
        .wait()
        .unwrap();
    let store = tmpfs.0.join("store");
    let (c, _messages) =
        mqtt_std::tokio::Client::new(ClientOptions::new(id("tk-full-pub")).session_store(&store))
            .unwrap();
    let persistent = ConnectOptions::default().clean_session(false);
    c.connect("127.0.0.1", b.port(), &persistent).await.unwrap();
    let filler = fill(&tmpfs.0);
    let err = c
        .publish("tkfull/1", &[7u8; 8192], QoS::AtLeastOnce, false)
        .await
        .unwrap_err();
    match &err {
        Error::Store(StoreError::Io { kind, .. }) => {
            assert_eq!(*kind, std::io::ErrorKind::StorageFull, "{err}");
        }
        other => panic!("{other:?}"),
    }
    fs::remove_file(&filler).unwrap();
    c.publish("tkfull/2", b"after", QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(recv(&sub).payload, b"after");
    c.close().await;
}
