//! `rystematic_recorder::__fuzz::recorder_state` under libFuzzer (see
//! `scripts/fuzz`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rystematic_recorder::__fuzz::recorder_state(data));
