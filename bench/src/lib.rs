//! Comparative benchmarks of the workspace against other MQTT implementations: the shared
//! stream shapes of the codec benchmark, and the pieces the end-to-end programs share.
#![forbid(unsafe_code)]

pub mod codec;
pub mod e2e;
