//! Comparative benchmarks of the workspace against other MQTT implementations: the shared
//! stream shapes of the codec benchmark, and the pieces the end-to-end and the scale programs
//! share.
#![forbid(unsafe_code)]

pub mod codec;
pub mod e2e;
pub mod scale;
