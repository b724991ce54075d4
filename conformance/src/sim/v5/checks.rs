//! The end-of-run checks of a 5.0 run: what reached the broker, per the client's outcome of
//! each message, and what reached the application, per the fate of each copy the broker routed
//! to it; per topic, first arrivals in publish order.

use std::collections::BTreeMap;

use mqtt_session::QoS;

use super::Outcome;
use super::broker::Fate;
use crate::sim::{Model, Sim, seq_of};

impl Sim {
    pub(in crate::sim) fn final_checks_v5(&mut self) -> Result<(), String> {
        let Model::V5(b) = &self.broker else {
            return Err("5.0 checks of a 3.1.1 run".to_owned());
        };
        let mut at_broker: BTreeMap<usize, usize> = BTreeMap::new();
        let mut broker_order: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for a in &b.accepted {
            let seq = seq_of(&a.payload).ok_or("broker accepted an unknown payload")?;
            let m = self.plan.get(seq).ok_or("broker accepted an unknown seq")?;
            let expiry_ok = a.expiry.is_some() == m.expiry.is_some() && a.expiry <= m.expiry;
            if seq >= self.next
                || m.topic != a.topic
                || m.qos != a.qos
                || m.user != a.user
                || !expiry_ok
            {
                return Err(format!(
                    "broker accepted m{seq} that the client never published as such: {a:?}"
                ));
            }
            let n = at_broker.entry(seq).or_default();
            *n += 1;
            if *n == 1 && a.qos != QoS::AtMostOnce {
                broker_order.entry(m.topic).or_default().push(seq);
            }
        }
        // Copies the broker completed, and copies sent before their session was discarded.
        let mut completed: BTreeMap<usize, usize> = BTreeMap::new();
        let mut discarded: BTreeMap<usize, usize> = BTreeMap::new();
        for r in &b.routed {
            let seq = seq_of(&r.payload).ok_or("broker routed an unknown payload")?;
            match r.fate {
                Fate::Completed => *completed.entry(seq).or_default() += 1,
                Fate::Discarded { sent: true } => *discarded.entry(seq).or_default() += 1,
                Fate::Pending => return Err(format!("a copy of m{seq} still pending")),
                _ => {}
            }
        }
        // The client's QoS 2 messages whose state the broker lost with a session it discarded
        // (expired, say) while the client, its CONNACK lost, still took it for present: a copy
        // sent again after that is a new message to the broker.
        let mut lost_state: BTreeMap<usize, usize> = BTreeMap::new();
        for payload in &b.lost_incoming {
            let seq = seq_of(payload).ok_or("broker lost an unknown payload")?;
            *lost_state.entry(seq).or_default() += 1;
        }
        // The application gets each topic's QoS 1/2 copies in the order the broker routed
        // them (the first delivery of each copy, known by its packet id): a subscription made
        // between two messages, or a session lost, changes which copies exist, not their order.
        let copies: BTreeMap<u16, usize> = b
            .routed
            .iter()
            .enumerate()
            .filter(|(_, r)| r.qos != QoS::AtMostOnce)
            .map(|(i, r)| (r.id, i))
            .collect();
        let mut first_delivery: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut delivered_copies = std::collections::BTreeSet::new();
        let mut at_app: BTreeMap<usize, usize> = BTreeMap::new();
        for ((topic, seq, qos), id) in self.delivered.iter().zip(&self.v5.delivered_ids) {
            let m = self.plan.get(*seq).ok_or("delivered an unknown seq")?;
            if m.topic != topic || m.qos != *qos {
                return Err(format!("m{seq} delivered on {topic} QoS {}", qos.as_u8()));
            }
            *at_app.entry(*seq).or_default() += 1;
            let Some(id) = id else {
                continue;
            };
            let copy = copies
                .get(id)
                .copied()
                .filter(|&i| {
                    b.routed
                        .get(i)
                        .is_some_and(|r| seq_of(&r.payload) == Some(*seq))
                })
                .ok_or_else(|| format!("m{seq} delivered under id {id}, no copy of it"))?;
            if delivered_copies.insert(copy) {
                first_delivery.entry(m.topic).or_default().push(copy);
            }
        }
        for (seq, m) in self.plan.iter().enumerate().take(self.next) {
            let count = |map: &BTreeMap<usize, usize>| map.get(&seq).copied().unwrap_or(0);
            let (at_b, at_a) = (count(&at_broker), count(&at_app));
            let (done, lost) = (count(&completed), count(&discarded));
            // Copies the broker may take as new: one per republish, one per state it lost.
            let again = self.v5.republished.get(&seq).copied().unwrap_or(0) + count(&lost_state);
            let outcome = self.v5.outcome.get(&seq).copied();
            let broker_ok = match (m.qos, outcome) {
                (QoS::AtMostOnce, _) => at_b <= 1,
                (QoS::AtLeastOnce, Some(Outcome::Acknowledged)) => at_b >= 1,
                (QoS::AtLeastOnce, Some(Outcome::Dropped)) => true,
                (QoS::AtLeastOnce, Some(Outcome::Expired)) => again > 0 || at_b == 0,
                (
                    QoS::ExactlyOnce,
                    Some(
                        Outcome::Completed
                        | Outcome::AcceptedSessionEnded
                        | Outcome::DroppedAccepted,
                    ),
                ) => (1..=1 + again).contains(&at_b),
                (QoS::ExactlyOnce, Some(Outcome::Dropped)) => at_b <= 1 + again,
                (QoS::ExactlyOnce, Some(Outcome::Expired)) => at_b <= again,
                (_, None) => {
                    return Err(format!(
                        "m{seq} (QoS {}) neither completed nor handed back: silently lost",
                        m.qos.as_u8()
                    ));
                }
                (_, Some(o)) => {
                    return Err(format!("m{seq} (QoS {}) ended {o:?}", m.qos.as_u8()));
                }
            };
            if !broker_ok {
                return Err(format!(
                    "m{seq} (QoS {}, {outcome:?}, republished or its broker state lost {again} \
                     times) reached the broker {at_b} times",
                    m.qos.as_u8()
                ));
            }
            let app_ok = match m.qos {
                QoS::AtMostOnce => at_a <= 1,
                QoS::AtLeastOnce => done == 0 || at_a >= 1,
                QoS::ExactlyOnce => (done..=done + lost).contains(&at_a),
            };
            if !app_ok {
                return Err(format!(
                    "m{seq} (QoS {}) reached the application {at_a} times; the broker completed \
                     {done} copies and lost {lost} sent ones with its session",
                    m.qos.as_u8()
                ));
            }
            if m.qos == QoS::AtLeastOnce {
                self.stats.broker_duplicates += usize::from(at_b > 1);
                self.stats.app_duplicates += usize::from(at_a > 1);
            }
        }
        for (topic, seqs) in &broker_order {
            if seqs.windows(2).any(|w| w[0] > w[1]) {
                return Err(format!(
                    "{topic}: QoS 1/2 messages reached the broker out of order: {seqs:?} \
                     [MQTT-4.6.0-1]"
                ));
            }
        }
        for (topic, copies) in &first_delivery {
            if copies.windows(2).any(|w| w[0] > w[1]) {
                return Err(format!(
                    "{topic}: QoS 1/2 copies reached the application out of the broker's \
                     order: {copies:?}"
                ));
            }
        }
        self.stats.v5.expired_at_broker = b.stats.expired;
        Ok(())
    }
}
