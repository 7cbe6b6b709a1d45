//! `rystematic::__fuzz::cli_value` under libFuzzer (see `scripts/fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rystematic::__fuzz::cli_value(data));
