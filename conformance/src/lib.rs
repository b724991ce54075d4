//! Conformance tests of the MQTT 3.1.1 and 5.0 client in `mqtt-proto` and `mqtt-session`,
//! statement by statement, and the tools they use.
//!
//! - [`spec`]: the numbered normative statements of MQTT 3.1.1 (`spec/normative-3.1.1.tsv`),
//!   the unnumbered client MUSTs this crate also checks (`spec/unnumbered-client.tsv`), and the
//!   client statements that cannot apply to this client, with the reason
//!   (`spec/not-applicable.tsv`). Tests name what they check with [`checks!`]; the coverage test
//!   (`tests/coverage.rs`) reads the tables and the test sources and prints `covered N of 72`
//!   (and, for MQTT 5.0, `covered N of 133` from `spec/normative-5.0.tsv`).
//! - [`wire`]: hand-written MQTT encodings, independent of `mqtt-proto`'s encoder, and a
//!   one-line description of any packet for transcripts.
//! - [`script`]: a scripted broker: one [`mqtt_session::Session`] driven with virtual time,
//!   exact bytes in, exact bytes and events out, all written down in a transcript.
//! - [`v5`]: the same for MQTT 5.0: a scripted broker for a 5.0 session ([`v5::Peer`]), events
//!   with their reason codes and properties, and 5.0 bytes written by hand ([`v5::wire5`]).
//! - [`sim`]: a deterministic simulation: the session against a reference broker model over a
//!   simulated network that cuts the connection at any byte, delays and reconnects, driven by a
//!   seed.
//!
//! Everything here uses only the public APIs of `mqtt-proto` and `mqtt-session` (and, for
//! interop and the WebSocket statements of section 6, of `mqtt-std`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod script;
pub mod sim;
pub mod spec;
pub mod v5;
pub mod wire;

/// Names the statements a test checks, by ID: numbered (`"MQTT-3.3.1-1"`) or unnumbered
/// (`"U-3.2.2.1-connack-reserved-bits"`). Put it first in a `#[test]` function; the coverage
/// test finds it in the source, and at run time it fails the test if an ID is not in the tables.
///
/// ```
/// conformance::checks!["MQTT-3.3.1-1", "MQTT-4.4.0-1"];
/// ```
#[macro_export]
macro_rules! checks {
    ($($id:literal),+ $(,)?) => {
        $crate::spec::assert_known(&[$($id),+])
    };
}
