//! Validated topic names and filters, and the matcher.

/// A validated topic name: non-empty, valid MQTT UTF-8, no wildcards [MQTT-3.3.2-2, MQTT-4.7.3-1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicName<'a>(&'a str);

/// A validated topic filter: non-empty, `#` last and alone in its level, `+` alone in its level
/// [MQTT-4.7.1-1/2/3].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicFilter<'a>(&'a str);

// API (to implement): TopicName::new(&str) -> Result<Self, DecodeError>, as_str();
// TopicFilter::new(&str) -> Result<Self, DecodeError>, as_str(), matches(&self, TopicName) -> bool
// ($-topics not matched by a leading wildcard [MQTT-4.7.2-1]; `sport/#` matches `sport`).
