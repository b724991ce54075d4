//! Topic aliases (section 3.3.2.3.4): the broker's, which we must resolve, and ours. Neither
//! outlives its network connection [MQTT-3.3.2-7].

/// Topic aliases the broker set on this connection, up to the Topic Alias Maximum we sent.
///
/// With the `alloc` feature the table grows as aliases are set (up to 65,535); without it the
/// session holds none, and a CONNECT asking for a Topic Alias Maximum above 0 is refused with
/// [`CommandError::TopicAliasesUnavailable`](crate::CommandError::TopicAliasesUnavailable).
#[derive(Debug, Default)]
pub(crate) struct InAliases {
    #[cfg(feature = "alloc")]
    topics: alloc::vec::Vec<Option<alloc::string::String>>,
}

impl InAliases {
    /// Highest Topic Alias Maximum we can honour.
    pub(crate) const CAPACITY: u16 = if cfg!(feature = "alloc") { u16::MAX } else { 0 };

    pub(crate) const fn new() -> Self {
        InAliases {
            #[cfg(feature = "alloc")]
            topics: alloc::vec::Vec::new(),
        }
    }

    /// Forget every alias (a new connection).
    pub(crate) fn clear(&mut self) {
        #[cfg(feature = "alloc")]
        {
            self.topics = alloc::vec::Vec::new();
        }
    }

    /// Set (or replace) `alias`, which the caller checked is within 1..=max.
    #[cfg(feature = "alloc")]
    pub(crate) fn set(&mut self, alias: u16, topic: &str) -> bool {
        let i = usize::from(alias);
        if self.topics.len() <= i {
            self.topics.resize(i + 1, None);
        }
        match self.topics.get_mut(i) {
            Some(slot) => {
                match slot {
                    Some(t) => {
                        t.clear();
                        t.push_str(topic);
                    }
                    None => *slot = Some(alloc::string::String::from(topic)),
                }
                true
            }
            None => false,
        }
    }

    /// Without `alloc`, no alias can be held (and none was offered).
    #[cfg(not(feature = "alloc"))]
    pub(crate) fn set(&mut self, _alias: u16, _topic: &str) -> bool {
        false
    }

    /// The topic of `alias`, if the broker set it on this connection.
    pub(crate) fn get(&self, alias: u16) -> Option<&str> {
        #[cfg(feature = "alloc")]
        {
            self.topics
                .get(usize::from(alias))
                .and_then(|t| t.as_deref())
        }
        #[cfg(not(feature = "alloc"))]
        {
            let _ = alias;
            None
        }
    }
}

/// Outgoing aliases the session may hold at once.
pub(crate) const OUT_SLOTS: usize = 8;
/// Longest topic given an outgoing alias (a longer one goes out in full).
pub(crate) const OUT_TOPIC: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Slot {
    len: u8,
    topic: [u8; OUT_TOPIC],
    /// The packet that set it has been written (or is being written now): a held message
    /// written from the store may use it. One a QoS 0 command set sits in the transmit buffer
    /// until then, maybe behind the marker of a held message written before it.
    on_wire: bool,
}

/// Topic aliases we set on this connection: alias `i + 1` stands for slot `i`'s topic. An
/// alias once set is never changed on the same connection, so a packet that uses it can never
/// be read under another topic, whatever order the queued packets leave in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OutAliases {
    slots: [Slot; OUT_SLOTS],
    used: usize,
}

impl OutAliases {
    pub(crate) const fn new() -> Self {
        OutAliases {
            slots: [Slot {
                len: 0,
                topic: [0; OUT_TOPIC],
                on_wire: false,
            }; OUT_SLOTS],
            used: 0,
        }
    }

    /// Forget every alias (a new connection) [MQTT-3.3.2-7].
    pub(crate) fn clear(&mut self) {
        self.used = 0;
    }

    /// The alias set for `topic` by a packet already written, if any (for a held message
    /// written now, which must not use an alias defined later on the wire).
    pub(crate) fn find_on_wire(&self, topic: &str) -> Option<u16> {
        let a = self.find(topic)?;
        let slot = self.slots.get(usize::from(a).checked_sub(1)?)?;
        slot.on_wire.then_some(a)
    }

    /// Every alias set so far is on the wire (the transmit buffer was written out).
    pub(crate) fn all_on_wire(&mut self) {
        for s in self.slots.iter_mut().take(self.used) {
            s.on_wire = true;
        }
    }

    /// The alias set for `topic`, if any.
    pub(crate) fn find(&self, topic: &str) -> Option<u16> {
        let b = topic.as_bytes();
        self.slots
            .iter()
            .take(self.used)
            .position(|s| s.topic.get(..usize::from(s.len)) == Some(b))
            .and_then(|i| u16::try_from(i + 1).ok())
    }

    /// The alias [`OutAliases::assign`] would give `topic`: one must be free within `max`
    /// (the smaller of the broker's Topic Alias Maximum and the configured number), and the
    /// topic short enough to keep.
    pub(crate) fn next_free(&self, topic: &str, max: u16) -> Option<u16> {
        let len = topic.len();
        let limit = usize::from(max).min(OUT_SLOTS);
        if self.used >= limit || len == 0 || len > OUT_TOPIC {
            return None;
        }
        u16::try_from(self.used + 1).ok()
    }

    /// Set the next alias for `topic` (see [`OutAliases::next_free`]).
    pub(crate) fn assign(&mut self, topic: &str, max: u16) -> Option<u16> {
        let alias = self.next_free(topic, max)?;
        let b = topic.as_bytes();
        let slot = self.slots.get_mut(self.used)?;
        slot.topic.get_mut(..b.len())?.copy_from_slice(b);
        slot.len = u8::try_from(b.len()).ok()?;
        slot.on_wire = false;
        self.used += 1;
        Some(alias)
    }

    /// [`OutAliases::assign`] by a packet written now.
    pub(crate) fn assign_on_wire(&mut self, topic: &str, max: u16) -> Option<u16> {
        let alias = self.assign(topic, max)?;
        if let Some(s) = self.slots.get_mut(usize::from(alias) - 1) {
            s.on_wire = true;
        }
        Some(alias)
    }
}
