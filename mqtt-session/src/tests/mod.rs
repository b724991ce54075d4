//! In-crate tests: a scripted broker with virtual time, transcripts as snapshots.
#![allow(clippy::unwrap_used)]

mod chaos;
mod flows;
mod harness;
mod model;
