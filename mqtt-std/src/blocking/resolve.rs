//! The name resolver of the blocking client's connect: an IP address at once, a name on a
//! thread of its own, within the connect wait.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

/// Why [`resolve`] found no address.
pub(super) enum Resolved {
    /// The connect wait ran out first.
    TimedOut,
    /// The resolver's error.
    Failed(io::Error),
}

/// The system resolver's answer for `host`.
fn system_lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    (host, port).to_socket_addrs().map(|a| a.collect())
}

/// The addresses of `host`, within the connect wait: an IP address at once; a name on a thread
/// of its own, so that a resolver that hangs cannot hold the connect past its deadline (the
/// thread ends when the resolver returns; its answer is then dropped).
pub(super) fn resolve(
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<Vec<SocketAddr>, Resolved> {
    resolve_with(host, port, deadline, system_lookup)
}

/// [`resolve`] with the lookup given.
fn resolve_with(
    host: &str,
    port: u16,
    deadline: Instant,
    lookup: fn(&str, u16) -> io::Result<Vec<SocketAddr>>,
) -> Result<Vec<SocketAddr>, Resolved> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_owned();
    let spawned = std::thread::Builder::new()
        .name("mqtt-resolve".into())
        .spawn(move || {
            let _ = tx.send(lookup(&name, port));
        });
    if spawned.is_err() {
        // No thread to spare: resolve here, without the bound.
        return lookup(host, port).map_err(Resolved::Failed);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(r) => r.map_err(Resolved::Failed),
        Err(_) => Err(Resolved::TimedOut),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex;
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::time::Duration;

    /// The hanging resolver's release: it returns once this is sent to (or dropped).
    static RELEASE: Mutex<Option<Receiver<()>>> = Mutex::new(None);

    fn hanging_lookup(_: &str, _: u16) -> io::Result<Vec<SocketAddr>> {
        let rx = RELEASE.lock().unwrap().take();
        if let Some(rx) = rx {
            let _ = rx.recv();
        }
        Ok(vec![SocketAddr::from(([127, 0, 0, 1], 1))])
    }

    fn failing_lookup(_: &str, _: u16) -> io::Result<Vec<SocketAddr>> {
        Err(io::Error::new(io::ErrorKind::NotFound, "no such name"))
    }

    #[test]
    fn a_resolver_that_hangs_is_bounded_by_the_connect_wait() {
        let (release, rx): (Sender<()>, _) = channel();
        *RELEASE.lock().unwrap() = Some(rx);
        let deadline = Instant::now() + Duration::from_millis(200);
        let r = resolve_with("broker.example", 1883, deadline, hanging_lookup);
        assert!(matches!(r, Err(Resolved::TimedOut)), "{:?}", r.ok());
        // It gave up with the resolver still hanging: the lookup ends only when released.
        drop(release);
    }

    #[test]
    fn a_resolver_answer_or_error_comes_through() {
        let deadline = Instant::now() + Duration::from_secs(30);
        let r = resolve_with("broker.example", 1883, deadline, failing_lookup);
        assert!(matches!(r, Err(Resolved::Failed(e)) if e.kind() == io::ErrorKind::NotFound));
        let r = resolve_with("::1", 1883, deadline, failing_lookup);
        assert_eq!(
            r.ok(),
            Some(vec![SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], 1883))])
        );
        let r = resolve_with("localhost", 1883, deadline, system_lookup);
        assert!(r.is_ok_and(|a| a.iter().all(|a| a.ip().is_loopback() && a.port() == 1883)));
    }
}
