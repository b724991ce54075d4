//! The same end-to-end run as `e2e-mqtt-std`, with rumqttc's async client on a tokio runtime
//! (one event loop per client, as rumqttc is used): N publishers and M subscribers in one
//! process, each subscriber receiving every message. With `--v5`, rumqttc's 5.0 client
//! (`rumqttc::v5::AsyncClient`) instead, `--user-property` sent with
//! `publish_with_properties` and checked on every received message. `--help` lists the
//! options.
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use mqtt_bench::e2e::{Clock, Options, Payload, Progress, Report, Tracker, options_or_exit};
use rumqttc::{
    AsyncClient, Event, EventLoop, Incoming, MqttOptions, Outgoing, QoS, SubscribeReasonCode,
};
use tokio::time::timeout;

const NAME: &str = "rumqttc";

fn qos(q: u8) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

async fn client(o: &Options, id: String) -> Result<(AsyncClient, EventLoop), String> {
    let mut m = MqttOptions::new(id.clone(), o.host.clone(), o.port);
    m.set_keep_alive(Duration::from_secs(60));
    m.set_clean_session(true);
    m.set_inflight(o.inflight);
    let max = (o.size + 1024).max(1 << 20);
    m.set_max_packet_size(max, max);
    let (client, mut el) = AsyncClient::new(m, usize::from(o.inflight));
    loop {
        match timeout(Duration::from_secs(10), el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::ConnAck(_)))) => return Ok((client, el)),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("{id}: connect: {e}")),
            Err(_) => return Err(format!("{id}: connect: timed out")),
        }
    }
}

async fn subscribe(o: &Options, c: &AsyncClient, el: &mut EventLoop) -> Result<(), String> {
    c.subscribe(o.filter(), qos(o.qos))
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    loop {
        match timeout(Duration::from_secs(10), el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::SubAck(ack)))) => {
                return if ack.return_codes.contains(&SubscribeReasonCode::Failure) {
                    Err("subscription refused".into())
                } else {
                    Ok(())
                };
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("SUBACK: {e}")),
            Err(_) => return Err("SUBACK: timed out".into()),
        }
    }
}

/// Drive a publisher's event loop until every publish flow is complete.
async fn complete_all(o: Options, mut el: EventLoop) -> Result<EventLoop, String> {
    let mut done = 0u32;
    while done < o.messages {
        match timeout(o.idle_timeout, el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::PubAck(_)))) if o.qos == 1 => done += 1,
            Ok(Ok(Event::Incoming(Incoming::PubComp(_)))) if o.qos == 2 => done += 1,
            Ok(Ok(Event::Outgoing(Outgoing::Publish(_)))) if o.qos == 0 => done += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("publisher event loop: {e}")),
            Err(_) => {
                return Err(format!(
                    "publisher: {done} of {} flows complete",
                    o.messages
                ));
            }
        }
    }
    Ok(el)
}

async fn receive_all(
    o: Options,
    mut el: EventLoop,
    mut tracker: Tracker,
    clock: Clock,
) -> (EventLoop, Tracker, Option<String>) {
    while !tracker.complete() {
        match timeout(o.idle_timeout, el.poll()).await {
            Ok(Ok(Event::Incoming(Incoming::Publish(p)))) => {
                tracker.record(&p.payload, clock.now_ns())
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return (el, tracker, Some(format!("receive: {e}"))),
            Err(_) => {
                let e = format!(
                    "no message for {:?} ({} of {} arrived)",
                    o.idle_timeout,
                    tracker.unique,
                    o.expected()
                );
                return (el, tracker, Some(e));
            }
        }
    }
    (el, tracker, None)
}

async fn disconnect(c: &AsyncClient, el: &mut EventLoop) {
    if c.disconnect().await.is_ok() {
        for _ in 0..100 {
            match timeout(Duration::from_secs(1), el.poll()).await {
                Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(_)) => {}
            }
        }
    }
}

async fn run(o: Options) -> Report {
    let pid = std::process::id();
    let received = Arc::new(AtomicU64::new(0));
    let mut report = Report {
        client: NAME,
        options: o.clone(),
        elapsed_s: f64::NAN,
        trackers: Vec::new(),
        error: None,
    };
    let mut subs = Vec::new();
    let mut pubs = Vec::new();
    let setup: Result<(), String> = async {
        for j in 0..o.subscribers {
            let (c, mut el) = client(&o, format!("br{pid}s{j}")).await?;
            subscribe(&o, &c, &mut el).await?;
            subs.push((c, el));
        }
        for i in 0..o.publishers {
            pubs.push(client(&o, format!("br{pid}p{i}")).await?);
        }
        Ok(())
    }
    .await;
    if let Err(e) = setup {
        report.error = Some(e);
        return report;
    }
    // A pause after SUBACK, so that the first message does not wait on a delayed ACK.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let progress = Progress::start(
        o.progress,
        NAME.into(),
        received.clone(),
        o.expected() * u64::from(o.subscribers),
    );
    let clock = Clock::start();
    let mut receivers = Vec::new();
    let mut sub_clients = Vec::new();
    for (c, el) in subs {
        let tracker = Tracker::new(&o, received.clone());
        receivers.push(tokio::spawn(receive_all(o.clone(), el, tracker, clock)));
        sub_clients.push(c);
    }
    let mut flows = Vec::new();
    let mut senders = Vec::new();
    let mut pub_clients = Vec::new();
    for ((c, el), i) in pubs.into_iter().zip(0u32..) {
        flows.push(tokio::spawn(complete_all(o.clone(), el)));
        let (c2, o2) = (c.clone(), o.clone());
        senders.push(tokio::spawn(async move {
            let topic = o2.publish_topic(i);
            let mut payload = Payload::new(o2.size, i);
            for seq in 0..o2.messages {
                let bytes = payload.stamp(seq, &clock).to_vec();
                if let Err(e) = c2.publish(topic.as_str(), qos(o2.qos), false, bytes).await {
                    return Some(format!("publish: {e}"));
                }
            }
            None
        }));
        pub_clients.push(c);
    }
    let mut errors = Vec::new();
    for h in senders {
        match h.await {
            Ok(e) => errors.extend(e),
            Err(e) => errors.push(format!("publisher task: {e}")),
        }
    }
    let mut pub_loops = Vec::new();
    for h in flows {
        match h.await {
            Ok(Ok(el)) => pub_loops.push(el),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("publisher task: {e}")),
        }
    }
    let mut sub_loops = Vec::new();
    for h in receivers {
        match h.await {
            Ok((el, t, e)) => {
                sub_loops.push(el);
                report.trackers.push(t);
                errors.extend(e);
            }
            Err(e) => errors.push(format!("subscriber task: {e}")),
        }
    }
    drop(progress);
    report.elapsed_s = report.trackers.iter().map(|t| t.last_ns).max().unwrap_or(0) as f64 / 1e9;
    report.error = (!errors.is_empty()).then(|| errors.join("; "));
    for (c, el) in sub_clients.iter().zip(sub_loops.iter_mut()) {
        disconnect(c, el).await;
    }
    for (c, el) in pub_clients.iter().zip(pub_loops.iter_mut()) {
        disconnect(c, el).await;
    }
    report
}

fn main() {
    let o = options_or_exit("e2e-rumqttc");
    let v5 = o.v5;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("e2e-rumqttc: tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    let report = if v5 {
        runtime.block_on(v5::run(o))
    } else {
        runtime.block_on(run(o))
    };
    std::process::exit(report.finish());
}

/// The same run with rumqttc's MQTT 5.0 client, `rumqttc::v5::AsyncClient`.
mod v5 {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use mqtt_bench::e2e::{Clock, Options, Payload, Progress, Report, Tracker};
    use rumqttc::Outgoing;
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::{Packet, Publish, PublishProperties, SubscribeReasonCode};
    use rumqttc::v5::{AsyncClient, Event, EventLoop, MqttOptions};
    use tokio::time::timeout;

    use super::NAME;

    fn qos(q: u8) -> QoS {
        match q {
            0 => QoS::AtMostOnce,
            1 => QoS::AtLeastOnce,
            _ => QoS::ExactlyOnce,
        }
    }

    async fn client(o: &Options, id: String) -> Result<(AsyncClient, EventLoop), String> {
        let mut m = MqttOptions::new(id.clone(), o.host.clone(), o.port);
        m.set_keep_alive(Duration::from_secs(60));
        m.set_clean_start(true);
        // The smaller of this and the broker's Receive Maximum.
        m.set_outgoing_inflight_upper_limit(o.inflight);
        let max = (o.size + 1024).max(1 << 20);
        m.set_max_packet_size(Some(u32::try_from(max).unwrap_or(u32::MAX)));
        let (client, mut el) = AsyncClient::new(m, usize::from(o.inflight));
        loop {
            match timeout(Duration::from_secs(10), el.poll()).await {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => return Ok((client, el)),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(format!("{id}: connect: {e}")),
                Err(_) => return Err(format!("{id}: connect: timed out")),
            }
        }
    }

    async fn subscribe(o: &Options, c: &AsyncClient, el: &mut EventLoop) -> Result<(), String> {
        c.subscribe(o.filter(), qos(o.qos))
            .await
            .map_err(|e| format!("subscribe: {e}"))?;
        loop {
            match timeout(Duration::from_secs(10), el.poll()).await {
                Ok(Ok(Event::Incoming(Packet::SubAck(ack)))) => {
                    return if ack
                        .return_codes
                        .iter()
                        .all(|c| matches!(c, SubscribeReasonCode::Success(_)))
                    {
                        Ok(())
                    } else {
                        Err(format!("subscription refused: {:?}", ack.return_codes))
                    };
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(format!("SUBACK: {e}")),
                Err(_) => return Err("SUBACK: timed out".into()),
            }
        }
    }

    /// Drive a publisher's event loop until every publish flow is complete.
    async fn complete_all(o: Options, mut el: EventLoop) -> Result<EventLoop, String> {
        let mut done = 0u32;
        while done < o.messages {
            match timeout(o.idle_timeout, el.poll()).await {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) if o.qos == 1 => done += 1,
                Ok(Ok(Event::Incoming(Packet::PubComp(_)))) if o.qos == 2 => done += 1,
                Ok(Ok(Event::Outgoing(Outgoing::Publish(_)))) if o.qos == 0 => done += 1,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(format!("publisher event loop: {e}")),
                Err(_) => {
                    return Err(format!(
                        "publisher: {done} of {} flows complete",
                        o.messages
                    ));
                }
            }
        }
        Ok(el)
    }

    /// Whether a received publish carries the User Properties every publish does.
    fn properties_ok(o: &Options, p: &Publish) -> bool {
        let user = p.properties.iter().flat_map(|props| {
            props
                .user_properties
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
        });
        o.properties_ok(user)
    }

    async fn receive_all(
        o: Options,
        mut el: EventLoop,
        mut tracker: Tracker,
        clock: Clock,
    ) -> (EventLoop, Tracker, Option<String>) {
        while !tracker.complete() {
            match timeout(o.idle_timeout, el.poll()).await {
                Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                    tracker.record_checked(&p.payload, properties_ok(&o, &p), clock.now_ns())
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return (el, tracker, Some(format!("receive: {e}"))),
                Err(_) => {
                    let e = format!(
                        "no message for {:?} ({} of {} arrived)",
                        o.idle_timeout,
                        tracker.unique,
                        o.expected()
                    );
                    return (el, tracker, Some(e));
                }
            }
        }
        (el, tracker, None)
    }

    async fn disconnect(c: &AsyncClient, el: &mut EventLoop) {
        if c.disconnect().await.is_ok() {
            for _ in 0..100 {
                match timeout(Duration::from_secs(1), el.poll()).await {
                    Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(_)) => {}
                }
            }
        }
    }

    pub(super) async fn run(o: Options) -> Report {
        let pid = std::process::id();
        let received = Arc::new(AtomicU64::new(0));
        let mut report = Report {
            client: NAME,
            options: o.clone(),
            elapsed_s: f64::NAN,
            trackers: Vec::new(),
            error: None,
        };
        let mut subs = Vec::new();
        let mut pubs = Vec::new();
        let setup: Result<(), String> = async {
            for j in 0..o.subscribers {
                let (c, mut el) = client(&o, format!("br5{pid}s{j}")).await?;
                subscribe(&o, &c, &mut el).await?;
                subs.push((c, el));
            }
            for i in 0..o.publishers {
                pubs.push(client(&o, format!("br5{pid}p{i}")).await?);
            }
            Ok(())
        }
        .await;
        if let Err(e) = setup {
            report.error = Some(e);
            return report;
        }
        // A pause after SUBACK, so that the first message does not wait on a delayed ACK.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let progress = Progress::start(
            o.progress,
            NAME.into(),
            received.clone(),
            o.expected() * u64::from(o.subscribers),
        );
        let clock = Clock::start();
        let mut receivers = Vec::new();
        let mut sub_clients = Vec::new();
        for (c, el) in subs {
            let tracker = Tracker::new(&o, received.clone());
            receivers.push(tokio::spawn(receive_all(o.clone(), el, tracker, clock)));
            sub_clients.push(c);
        }
        let mut flows = Vec::new();
        let mut senders = Vec::new();
        let mut pub_clients = Vec::new();
        for ((c, el), i) in pubs.into_iter().zip(0u32..) {
            flows.push(tokio::spawn(complete_all(o.clone(), el)));
            let (c2, o2) = (c.clone(), o.clone());
            senders.push(tokio::spawn(async move {
                let topic = o2.publish_topic(i);
                let mut payload = Payload::new(o2.size, i);
                let props = o2.user_property.as_ref().map(|(k, v)| PublishProperties {
                    user_properties: vec![(k.clone(), v.clone())],
                    ..PublishProperties::default()
                });
                for seq in 0..o2.messages {
                    let bytes = payload.stamp(seq, &clock).to_vec();
                    let (topic, q) = (topic.as_str(), qos(o2.qos));
                    let sent = match &props {
                        Some(props) => {
                            c2.publish_with_properties(topic, q, false, bytes, props.clone())
                                .await
                        }
                        None => c2.publish(topic, q, false, bytes).await,
                    };
                    if let Err(e) = sent {
                        return Some(format!("publish: {e}"));
                    }
                }
                None
            }));
            pub_clients.push(c);
        }
        let mut errors = Vec::new();
        for h in senders {
            match h.await {
                Ok(e) => errors.extend(e),
                Err(e) => errors.push(format!("publisher task: {e}")),
            }
        }
        let mut pub_loops = Vec::new();
        for h in flows {
            match h.await {
                Ok(Ok(el)) => pub_loops.push(el),
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("publisher task: {e}")),
            }
        }
        let mut sub_loops = Vec::new();
        for h in receivers {
            match h.await {
                Ok((el, t, e)) => {
                    sub_loops.push(el);
                    report.trackers.push(t);
                    errors.extend(e);
                }
                Err(e) => errors.push(format!("subscriber task: {e}")),
            }
        }
        drop(progress);
        report.elapsed_s =
            report.trackers.iter().map(|t| t.last_ns).max().unwrap_or(0) as f64 / 1e9;
        report.error = (!errors.is_empty()).then(|| errors.join("; "));
        for (c, el) in sub_clients.iter().zip(sub_loops.iter_mut()) {
            disconnect(c, el).await;
        }
        for (c, el) in pub_clients.iter().zip(pub_loops.iter_mut()) {
            disconnect(c, el).await;
        }
        report
    }
}
