//! The same many-session run as `scale-mqtt-std`, with rumqttc's `AsyncClient` and one
//! `EventLoop` per client, each polled by the session's own task for the whole run (between
//! the phases too, so that the keep alive goes on), on a multi-threaded tokio runtime.
//! `--help` lists the options.
//!
//! The clients keep rumqttc's default `MqttOptions` (in-flight window, packet size limits)
//! apart from clean session and the keep alive of `--keep-alive`; the request channel of
//! `AsyncClient::new` holds 10.
use std::future::Future;
use std::time::Duration;

use mqtt_bench::scale::{Options, Session, main_with, options_or_exit};
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, Incoming, MqttOptions, Outgoing, QoS,
    SubscribeReasonCode,
};

const NAME: &str = "rumqttc";

/// The capacity of each client's request channel.
const REQUESTS: usize = 10;

/// How long one connect may take, TCP connect to CONNACK.
const CONNECT_WAIT: Duration = Duration::from_secs(30);

/// Polls the event loop until `until` resolves (the packets that come meanwhile, such as
/// PINGRESP, need nothing).
async fn drive_until(el: &mut EventLoop, until: impl Future<Output = ()>) -> Result<(), String> {
    let mut until = std::pin::pin!(until);
    loop {
        tokio::select! {
            biased;
            () = &mut until => return Ok(()),
            event = el.poll() => {
                event.map_err(|e| format!("event loop: {e}"))?;
            }
        }
    }
}

async fn connect(el: &mut EventLoop) -> Result<(), String> {
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Incoming::ConnAck(ack))) => {
                return if ack.code == ConnectReturnCode::Success {
                    Ok(())
                } else {
                    Err(format!("CONNACK: {:?}", ack.code))
                };
            }
            Ok(_) => {}
            Err(e) => return Err(format!("connect: {e}")),
        }
    }
}

async fn session(o: Options, mut s: Session) -> Result<(), String> {
    let i = s.index;
    s.connect_turn().await;
    let id = format!("sr{}-{i}", std::process::id());
    let mut m = MqttOptions::new(id, o.host.clone(), o.port);
    m.set_keep_alive(Duration::from_secs(u64::from(o.keep_alive)));
    m.set_clean_session(true);
    let (client, mut el) = AsyncClient::new(m, REQUESTS);
    match tokio::time::timeout(CONNECT_WAIT, connect(&mut el)).await {
        Ok(r) => r?,
        Err(_) => return Err("connect: timed out".into()),
    }
    s.connected();

    drive_until(&mut el, s.deliver_phase()).await?;
    let topic = o.topic(i);
    let payload = o.payload(i);
    client
        .subscribe(topic.as_str(), QoS::AtLeastOnce)
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Incoming::SubAck(ack))) => {
                if ack.return_codes != [SubscribeReasonCode::Success(QoS::AtLeastOnce)] {
                    return Err(format!("SUBACK: {:?}", ack.return_codes));
                }
                break;
            }
            Ok(_) => {}
            Err(e) => return Err(format!("SUBACK: {e}")),
        }
    }
    client
        .publish(topic.as_str(), QoS::AtLeastOnce, false, payload.clone())
        .await
        .map_err(|e| format!("publish: {e}"))?;
    let (mut acked, mut back) = (false, false);
    while !(acked && back) {
        match el.poll().await {
            Ok(Event::Incoming(Incoming::PubAck(_))) => acked = true,
            Ok(Event::Incoming(Incoming::Publish(p))) => {
                if p.topic != topic || p.payload != payload {
                    return Err(format!("received {:?} on {:?}", p.payload, p.topic));
                }
                back = true;
            }
            Ok(_) => {}
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
    s.delivered();

    drive_until(&mut el, s.disconnect_phase()).await?;
    client
        .disconnect()
        .await
        .map_err(|e| format!("disconnect: {e}"))?;
    loop {
        match el.poll().await {
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("disconnect: {e}")),
        }
    }
}

fn main() {
    const PROGRAM: &str = "scale-rumqttc";
    let o = options_or_exit(PROGRAM, "", Ok(std::env::args().skip(1).collect()));
    main_with(PROGRAM, NAME, o, session)
}
