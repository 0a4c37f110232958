#![no_main]
//! See `catalyst_fuzz::chart_archive`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| catalyst_fuzz::chart_archive(data));
