//! The fuzz targets' corpus (`fuzz/corpus/<target>/`), replayed on every
//! test run, plus a fixed number of deterministic mutations of it: a
//! regression check for every input a fuzzer ever found, and a cheap
//! fuzzer on the stable toolchain. `scripts/fuzz` runs the same targets
//! under libFuzzer (coverage-guided, nightly) for longer;
//! `RYSTEMATIC_FUZZ_ITERS` sets the mutations per target here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

type Target = fn(&[u8]);

/// Tokens worth splicing in, beyond the seeds' own bytes.
const TOKENS: &[&str] = &[
    "..",
    ",",
    "\\,",
    "\\",
    "-",
    "=",
    "9223372036854775807",
    "-9223372036854775808",
    "1e999",
    ".nan",
    "-.inf",
    "nan",
    "inf",
    "&a ",
    "*a",
    "!!str ",
    "!!python/object ",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "\n",
    "\n  ",
    "- ",
    "'",
    "\"",
    "#",
    "~",
    "null",
    "yes",
    "0x",
    "e-3",
    "\u{0}",
    "\u{feff}",
    "\u{85}",
    "\u{2028}",
    "\t",
    "\r\n",
    "?",
    "|",
    ">",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\"exe\"",
    "\"values\"",
    "{\"a\":",
    "1.0",
    "[[[[",
    "\u{1b}",
    "é",
];

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// SplitMix64: small, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next() as u8),
            2 if at < data.len() => {
                let end = (at + 1 + rng.below(8)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(32)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
        }
    }
    data
}

fn iterations() -> usize {
    std::env::var("RYSTEMATIC_FUZZ_ITERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000)
}

fn fuzz(name: &str, target: Target) {
    let seeds = corpus(name);
    let run = |data: &[u8]| {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(data))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?");
            panic!(
                "{name} failed on {:?}\n(bytes {data:?})\n{message}",
                String::from_utf8_lossy(data)
            );
        }
    };
    for seed in &seeds {
        run(seed);
    }
    let mut rng = Rng(0x5eed ^ name.len() as u64);
    for _ in 0..iterations() {
        run(&mutate(&mut rng, &seeds));
    }
}

#[test]
fn params_file() {
    fuzz("params_file", rystematic::__fuzz::params_file);
}

#[test]
fn cli_value() {
    fuzz("cli_value", rystematic::__fuzz::cli_value);
}

#[test]
fn sweep_spec() {
    fuzz("sweep_spec", rystematic::__fuzz::sweep_spec);
}

#[test]
fn child_spec() {
    fuzz("child_spec", rystematic::__fuzz::child_spec);
}

#[test]
fn recorder_state() {
    fuzz(
        "recorder_state",
        rystematic_recorder::__fuzz::recorder_state,
    );
}
