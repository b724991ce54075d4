//! The 5.0 runs of the simulation: the 5.0 broker model ([`BrokerModelV5`]).

pub mod broker;
mod deliver;
mod incoming;

pub use broker::BrokerModelV5;
