//! A tiny fixed-capacity FIFO, no allocator.

#[derive(Debug, Clone)]
pub(crate) struct Ring<T: Copy, const N: usize> {
    items: [Option<T>; N],
    head: usize,
    len: usize,
}

impl<T: Copy, const N: usize> Ring<T, N> {
    pub(crate) const fn new() -> Self {
        Ring {
            items: [None; N],
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn free(&self) -> usize {
        N - self.len
    }

    /// Append; gives the item back when full.
    pub(crate) fn push(&mut self, item: T) -> Result<(), T> {
        if self.len >= N {
            return Err(item);
        }
        let i = (self.head + self.len) % N;
        if let Some(slot) = self.items.get_mut(i) {
            *slot = Some(item);
        }
        self.len += 1;
        Ok(())
    }

    pub(crate) fn front(&self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.items.get(self.head).copied().flatten()
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let item = self.items.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % N;
        self.len -= 1;
        item
    }

    pub(crate) fn clear(&mut self) {
        while self.pop().is_some() {}
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len).filter_map(move |k| self.items.get((self.head + k) % N).copied().flatten())
    }
}
