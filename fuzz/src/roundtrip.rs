pub fn roundtrip(_data: &[u8]) {}
