//! `rystematic::__fuzz::child_spec` under libFuzzer (see `scripts/fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rystematic::__fuzz::child_spec(data));
