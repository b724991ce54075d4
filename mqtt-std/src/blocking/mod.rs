//! The blocking client: [`Client`] handles over state shared with one IO thread per client,
//! which drives the core ([`crate::core`]) over the std socket link ([`crate::link::socket`]).

mod client;
mod driver;
mod pending;
mod receive;
mod resolve;
mod shared;
mod v5;

pub use client::{Client, WeakClient};
pub use pending::Pending;
pub use receive::Messages;
