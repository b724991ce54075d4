//! In-crate tests: a scripted broker with virtual time, transcripts as snapshots.
#![allow(clippy::unwrap_used)]

mod harness;

mod connect;
mod keep_alive;
mod publish;
mod receive;
mod resume;
mod subscribe;

mod chaos;
mod model;

#[cfg(feature = "v5")]
mod v5;
#[cfg(feature = "v5")]
mod v5_alias;
#[cfg(feature = "v5")]
mod v5_auth;
#[cfg(feature = "v5")]
mod v5_session;
#[cfg(feature = "v5")]
mod v5_store;
