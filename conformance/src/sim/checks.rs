//! The simulation's end-of-run checks: delivery counts and per-topic order.

use std::collections::BTreeMap;

use mqtt_session::QoS;

use super::{Model, Sim, seq_of};

impl Sim {
    /// Every accepted QoS 1 message arrived at least once, every QoS 2 message exactly once,
    /// QoS 0 at most once, at the broker and at the application; per topic, QoS 1/2 messages
    /// arrived in publish order [MQTT-4.6.0-*].
    pub(super) fn final_checks(&mut self) -> Result<(), String> {
        let accepted = match &self.broker {
            Model::V3(b) => &b.accepted,
            Model::V5(_) => return self.final_checks_v5(),
        };
        let mut at_broker: BTreeMap<usize, usize> = BTreeMap::new();
        let mut broker_order: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for a in accepted {
            let seq = seq_of(&a.payload).ok_or("broker accepted an unknown payload")?;
            let planned = self.plan.get(seq).ok_or("broker accepted an unknown seq")?;
            if seq >= self.next || planned.topic != a.topic || planned.qos != a.qos {
                return Err(format!(
                    "broker accepted m{seq} that the client never published as such"
                ));
            }
            let n = at_broker.entry(seq).or_default();
            *n += 1;
            if *n == 1 && a.qos != QoS::AtMostOnce {
                broker_order.entry(planned.topic).or_default().push(seq);
            }
        }
        let mut at_app: BTreeMap<usize, usize> = BTreeMap::new();
        let mut app_order: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (topic, seq, qos) in &self.delivered {
            let planned = self.plan.get(*seq).ok_or("delivered an unknown seq")?;
            if planned.topic != topic || planned.qos != *qos {
                return Err(format!("m{seq} delivered on {topic} QoS {}", qos.as_u8()));
            }
            let n = at_app.entry(*seq).or_default();
            *n += 1;
            if *n == 1 && *qos != QoS::AtMostOnce {
                app_order.entry(planned.topic).or_default().push(*seq);
            }
        }
        for (seq, m) in self.plan.iter().enumerate().take(self.next) {
            let b = at_broker.get(&seq).copied().unwrap_or(0);
            let a = at_app.get(&seq).copied().unwrap_or(0);
            let ok = |n: usize| match m.qos {
                QoS::AtMostOnce => n <= 1,
                QoS::AtLeastOnce => n >= 1,
                QoS::ExactlyOnce => n == 1,
            };
            if !ok(b) {
                return Err(format!(
                    "m{seq} (QoS {}) reached the broker {b} times",
                    m.qos.as_u8()
                ));
            }
            if !ok(a) {
                return Err(format!(
                    "m{seq} (QoS {}) reached the application {a} times",
                    m.qos.as_u8()
                ));
            }
            if m.qos == QoS::AtLeastOnce {
                self.stats.broker_duplicates += usize::from(b > 1);
                self.stats.app_duplicates += usize::from(a > 1);
            }
        }
        for (where_, orders) in [("broker", &broker_order), ("application", &app_order)] {
            for (topic, seqs) in orders {
                if seqs.windows(2).any(|w| w[0] > w[1]) {
                    return Err(format!(
                        "{topic}: QoS 1/2 messages reached the {where_} out of order: {seqs:?} [MQTT-4.6.0]"
                    ));
                }
            }
        }
        Ok(())
    }
}
