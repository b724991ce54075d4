//! `conformance`: not implemented yet. See the workspace README for the plan; this crate exposes no API
//! until its issue lands, so nothing here pretends to work.

#![forbid(unsafe_code)]
