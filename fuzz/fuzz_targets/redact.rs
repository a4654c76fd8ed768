#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| auto_etl_fuzz::redact(data));
