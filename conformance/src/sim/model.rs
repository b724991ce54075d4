//! The broker model of a run: the 3.1.1 [`BrokerModel`] or the 5.0 [`BrokerModelV5`], behind
//! one face.

use super::broker::BrokerModel;
use super::v5::BrokerModelV5;

/// The broker model of a run.
#[derive(Debug)]
pub(super) enum Model {
    V3(BrokerModel),
    V5(Box<BrokerModelV5>),
}

impl Model {
    pub(super) fn receive(&mut self, now: u64, bytes: &[u8]) -> Vec<u8> {
        match self {
            Model::V3(b) => b.receive(bytes),
            Model::V5(b) => b.receive(now, bytes),
        }
    }

    pub(super) fn violation(&self) -> Option<&String> {
        match self {
            Model::V3(b) => b.violations.first(),
            Model::V5(b) => b.violations.first(),
        }
    }

    pub(super) fn wants_close(&self) -> bool {
        match self {
            Model::V3(b) => b.wants_close(),
            Model::V5(b) => b.wants_close(),
        }
    }

    pub(super) fn idle(&self) -> bool {
        match self {
            Model::V3(b) => b.idle(),
            Model::V5(b) => b.idle(),
        }
    }

    pub(super) fn outgoing(&self) -> usize {
        match self {
            Model::V3(b) => b.outgoing(),
            Model::V5(b) => b.outgoing(),
        }
    }

    pub(super) fn connection_opened(&mut self) {
        match self {
            Model::V3(b) => b.connection_opened(),
            Model::V5(b) => b.connection_opened(),
        }
    }

    pub(super) fn connection_closed(&mut self, now: u64) {
        match self {
            Model::V3(b) => b.connection_closed(),
            Model::V5(b) => b.connection_closed(now),
        }
    }
}
