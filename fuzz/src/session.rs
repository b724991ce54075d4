pub fn session(_data: &[u8]) {}
