#![no_main]
//! See `catalyst_fuzz::blueprint_loader`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| catalyst_fuzz::blueprint_loader(data));
