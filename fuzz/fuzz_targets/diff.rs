#![no_main]
//! See `catalyst_fuzz::diff`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| catalyst_fuzz::diff(data));
