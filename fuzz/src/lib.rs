//! Fuzz targets for the MQTT client (3.1.1 and 5.0): the
//! `mqtt-proto` decoder, the codec round trip, and the `mqtt-session` state machine.
//!
//! Each target is a plain function of the fuzzer's bytes, so that the `fuzz_targets/` binaries
//! (libFuzzer, nightly) and the stable `cargo test` replay of the seed corpus and of the saved
//! regression inputs run the very same code.

mod decode;
mod decode_v5;
mod input;
mod roundtrip;
mod roundtrip_v5;
mod session;
mod session_v5;

pub use decode::decode;
pub use roundtrip::roundtrip;
pub use session::session;

#[cfg(test)]
mod replay;
#[cfg(test)]
mod seeds;
