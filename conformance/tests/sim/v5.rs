//! The 5.0 simulation (see `conformance::sim::v5`) over its own seeds: the same session, plan
//! and network as the 3.1.1 runs, over 5.0 connections to the 5.0 broker model (flow control,
//! topic aliases both ways, message properties and expiry, reason codes, DISCONNECTs from the
//! broker, sessions that end), over seeds 0..3000 unless `SIM_SEEDS` says otherwise. Seeds and
//! replay as in `tests/sim.rs`.

use conformance::sim::{self, v5::Stats5};

use super::{report_failures, run_all, seeds};

/// Adds the 5.0 figures of one run to `total`.
pub fn add(total: &mut Stats5, s: &Stats5) {
    total.server_disconnects += s.server_disconnects;
    total.clean_starts += s.clean_starts;
    total.expiry_zero_disconnects += s.expiry_zero_disconnects;
    total.not_resumed += s.not_resumed;
    total.present_without_session += s.present_without_session;
    total.republished += s.republished;
    total.dropped += s.dropped;
    total.accepted_session_ended += s.accepted_session_ended;
    total.expired += s.expired;
    total.expired_at_broker += s.expired_at_broker;
    total.aliases_out.0 += s.aliases_out.0;
    total.aliases_out.1 += s.aliases_out.1;
    total.aliases_in.0 += s.aliases_in.0;
    total.aliases_in.1 += s.aliases_in.1;
    total.receive_maximum_reached += s.receive_maximum_reached;
    total.no_matching_subscribers += s.no_matching_subscribers;
    total.pubcomp_not_found += s.pubcomp_not_found;
}

#[test]
fn sim_5_many_seeds_flow_control_aliases_properties_and_lost_sessions() {
    // What every seed checks (see `conformance::sim` and `conformance::sim::v5`):
    // - packet ids: a new PUBLISH, SUBSCRIBE or UNSUBSCRIBE never takes an id in use
    //   [MQTT-2.2.1-3, MQTT-4.3.2-1, MQTT-4.3.3-1]; acknowledgements carry the PUBLISH's id
    //   [MQTT-2.2.1-5];
    // - CONNECT first on every connection [MQTT-3.1.0-1], nothing after DISCONNECT
    //   [MQTT-3.14.4-1];
    // - DUP=1 and the original id on a resend, resends only on resumption and first, in order
    //   [MQTT-3.3.1-1, MQTT-4.4.0-1, MQTT-4.6.0-1]; a message published again after a lost
    //   session goes out as new, DUP=0 [MQTT-4.3.2-2, MQTT-4.3.3-2]; no PUBLISH after its
    //   PUBREL [MQTT-4.3.3-6];
    // - PUBACK, PUBREC, PUBREL in the order of what they answer [MQTT-4.6.0-2, MQTT-4.6.0-3,
    //   MQTT-4.6.0-4];
    // - never silent longer than the keep alive in force, the Server Keep Alive when the
    //   CONNACK has one [MQTT-3.1.2-20, MQTT-3.2.2-21];
    // - never more unacknowledged QoS 1/2 PUBLISH than the broker's Receive Maximum
    //   [MQTT-3.3.4-7, MQTT-4.9.0-2];
    // - Topic Aliases within the broker's Topic Alias Maximum, none when it is absent
    //   [MQTT-3.2.2-17, MQTT-3.2.2-18, MQTT-3.3.2-9], an empty topic only under an alias set
    //   on the same connection: none carried across a reconnect [MQTT-3.3.2-7]; every alias
    //   of the broker's within our Topic Alias Maximum accepted, remapped ones included
    //   [MQTT-3.3.2-10];
    // - no Subscription Identifier in a PUBLISH [MQTT-3.3.4-6]; no packet above the broker's
    //   Maximum Packet Size [MQTT-3.2.2-15];
    // - every send of a message carries its User Properties and a Message Expiry Interval no
    //   larger than published less the seconds since; an expiry report only for a message
    //   never written in its session, a written QoS 2 message completes however late
    //   [MQTT-4.3.3-7];
    // - the session outlives its connections while its Session Expiry Interval is above 0
    //   [MQTT-3.1.2-23, MQTT-4.1.0-1]: QoS 1 at least once, QoS 2 exactly once at the broker
    //   and at the application [MQTT-4.3.2-3, MQTT-4.3.2-4, MQTT-4.3.3-3, MQTT-4.3.3-4,
    //   MQTT-4.3.3-5, MQTT-4.3.3-8, MQTT-4.3.3-10, MQTT-4.3.3-11];
    // - Clean Start 1 ends the session [MQTT-3.1.2-4], so does Session Present 0
    //   [MQTT-3.2.2-5]: the messages held are republished or reported as
    //   `Config::session_lost` says, never silently lost; Session Present 1 without session
    //   state closes the connection with DISCONNECT 0x82 [MQTT-3.2.2-4].
    let (seeds, trace) = seeds(3000);
    let count = seeds.end - seeds.start;
    let (total, ends, failures) = run_all(seeds, trace, sim::run_v5);
    let v = &total.v5;
    println!(
        "simulated {count} seeds at 5.0: published QoS0/1/2 = {:?}, {} connections, {} cuts, \
         {} DISCONNECTs from the broker, {} restarts, {} resends (DUP=1), sessions ended by {} \
         CONNECTs with Clean Start 1, {} DISCONNECTs with Session Expiry 0 and {} CONNACKs not \
         resuming, {} connections closed for Session Present 1 without session state, held \
         messages {} republished, {} dropped and {} accepted by an ended session, {} expired \
         unsent at the client and {} at the broker, topic aliases set {} and used alone {} times \
         out and {} and {} in, receive maximum reached {} times, {} acks 0x10 and {} PUBCOMP \
         0x92, {} QoS 1 duplicates at the broker and {} at the application, {:.0} virtual s\n\
         connections ended by the client at 5.0: {ends:?}",
        total.published,
        total.connections,
        total.cuts,
        v.server_disconnects,
        total.restarts,
        total.resends,
        v.clean_starts,
        v.expiry_zero_disconnects,
        v.not_resumed,
        v.present_without_session,
        v.republished,
        v.dropped,
        v.accepted_session_ended,
        v.expired,
        v.expired_at_broker,
        v.aliases_out.0,
        v.aliases_out.1,
        v.aliases_in.0,
        v.aliases_in.1,
        v.receive_maximum_reached,
        v.no_matching_subscribers,
        v.pubcomp_not_found,
        total.broker_duplicates,
        total.app_duplicates,
        total.virtual_ms as f64 / 1000.0
    );
    report_failures(&failures, count, "sim_5");
}
