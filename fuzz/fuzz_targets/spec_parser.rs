#![no_main]
//! See `catalyst_fuzz::spec_parser`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| catalyst_fuzz::spec_parser(data));
