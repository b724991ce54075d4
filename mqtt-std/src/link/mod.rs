//! The links under the session: TCP, TLS (rustls) and WebSocket, for the blocking client
//! ([`socket`]) and, as settings, for both clients ([`tls`], [`ws`]); the tokio client's async
//! link is `crate::tokio::link`.

pub(crate) mod socket;
pub mod tls;
pub mod ws;
