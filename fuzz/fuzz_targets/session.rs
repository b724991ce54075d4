#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mqtt_fuzz::session(data));
