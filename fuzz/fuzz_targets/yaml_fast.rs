#![no_main]
//! See `catalyst_fuzz::yaml_fast`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| catalyst_fuzz::yaml_fast(data));
