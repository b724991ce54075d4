//! Many sessions in one process with `mqtt_std::tokio::Client`: N clients, each with its own
//! driver task (as the client runs) and one task for the session's steps, on a multi-threaded
//! tokio runtime; the phases, the figures and the options are [`mqtt_bench::scale`]'s.
//! `scale-mqtt-std --help` lists the options; `bench/run-scale` runs it beside
//! `scale-rumqttc`.
//!
//! The clients keep the library's default [`ClientOptions`] (in-flight window, receive queue,
//! packet and transmit buffer sizes) apart from the client id, unless `--max-packet-size` or
//! `--transmit-buffer` set those two sizes; the CONNECT has clean session on and the keep
//! alive of `--keep-alive`.
use std::time::Duration;

use mqtt_bench::scale::{Options, Session, main_with, options_or_exit};
use mqtt_std::tokio::Client;
use mqtt_std::{ClientOptions, ConnectOptions, QoS, SubAckReturnCode};

const NAME: &str = "mqtt-std-tokio";

/// How long one connect may take, TCP connect to CONNACK.
const CONNECT_WAIT: Duration = Duration::from_secs(30);

/// This program's own options: the two buffer sizes of [`ClientOptions`] (`None`: the
/// library's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Buffers {
    max_packet_size: Option<usize>,
    transmit_buffer: Option<usize>,
}

const EXTRA_USAGE: &str = "
  --max-packet-size B  ClientOptions::max_packet_size, the receive buffer (default: the
                       library's, 1 MiB)
  --transmit-buffer B  ClientOptions::transmit_buffer_size (default: the library's, 1 MiB)";

impl Buffers {
    /// Takes this program's options out of `args`; the rest is for [`Options::parse`].
    fn take(args: impl IntoIterator<Item = String>) -> Result<(Buffers, Vec<String>), String> {
        let mut b = Buffers::default();
        let mut rest = Vec::new();
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            let slot = match a.as_str() {
                "--max-packet-size" => &mut b.max_packet_size,
                "--transmit-buffer" => &mut b.transmit_buffer,
                _ => {
                    rest.push(a);
                    continue;
                }
            };
            let v = args.next().ok_or_else(|| format!("{a} needs a value"))?;
            *slot = Some(v.parse().map_err(|_| format!("{a}: invalid value {v:?}"))?);
        }
        Ok((b, rest))
    }

    fn apply(self, mut c: ClientOptions) -> ClientOptions {
        if let Some(n) = self.max_packet_size {
            c = c.max_packet_size(n);
        }
        if let Some(n) = self.transmit_buffer {
            c = c.transmit_buffer_size(n);
        }
        c
    }
}

async fn session(o: Options, buffers: Buffers, mut s: Session) -> Result<(), String> {
    let i = s.index;
    s.connect_turn().await;
    let id = format!("ss{}-{i}", std::process::id());
    let (client, mut messages) =
        Client::new(buffers.apply(ClientOptions::new(id))).map_err(|e| format!("client: {e}"))?;
    let connect = ConnectOptions::default()
        .keep_alive(o.keep_alive)
        .clean_session(true)
        .wait(CONNECT_WAIT);
    client
        .connect(&o.host, o.port, &connect)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    s.connected();

    s.deliver_phase().await;
    let topic = o.topic(i);
    let payload = o.payload(i);
    let codes = client
        .subscribe(&[(topic.as_str(), QoS::AtLeastOnce)])
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    if codes != [SubAckReturnCode::Success(QoS::AtLeastOnce)] {
        return Err(format!("SUBACK: {codes:?}"));
    }
    // Resolves on the PUBACK.
    client
        .publish(&topic, &payload, QoS::AtLeastOnce, false)
        .await
        .map_err(|e| format!("publish: {e}"))?;
    let m = messages
        .recv()
        .await
        .ok_or_else(|| "receive: client closed".to_string())?;
    if m.topic != topic || m.payload != payload {
        return Err(format!("received {:?} on {:?}", m.payload, m.topic));
    }
    s.delivered();

    s.disconnect_phase().await;
    client
        .disconnect()
        .await
        .map_err(|e| format!("disconnect: {e}"))?;
    client.close().await;
    Ok(())
}

fn main() {
    const PROGRAM: &str = "scale-mqtt-std";
    let (buffers, rest) = match Buffers::take(std::env::args().skip(1)) {
        Ok((b, rest)) => (b, Ok(rest)),
        Err(e) => (Buffers::default(), Err(e)),
    };
    let o = options_or_exit(PROGRAM, EXTRA_USAGE, rest);
    main_with(PROGRAM, NAME, o, move |o, s| session(o, buffers, s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn take(args: &[&str]) -> Result<(Buffers, Vec<String>), String> {
        Buffers::take(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn takes_the_buffer_options_and_leaves_the_rest() {
        let (b, rest) = take(&["-n", "5", "--max-packet-size", "4096", "-p", "1"]).unwrap();
        assert_eq!(b.max_packet_size, Some(4096));
        assert_eq!(b.transmit_buffer, None);
        assert_eq!(rest, ["-n", "5", "-p", "1"]);
        let (b, rest) = take(&["--transmit-buffer", "8192"]).unwrap();
        assert_eq!((b.max_packet_size, b.transmit_buffer), (None, Some(8192)));
        assert!(rest.is_empty());
        assert!(take(&["--transmit-buffer"]).is_err());
        assert!(take(&["--max-packet-size", "big"]).is_err());
    }
}
