//! Seeding Burn from the run's seed stream, and choosing devices.

use burn::tensor::Device;
use rystematic::Run;

use crate::error::BurnError;

/// Seeds Burn's random number generator on `device` with the next 64-bit
/// seed of the run's stream, and returns that seed. The same
/// `random_seed` then gives the same initial weights, and (on the CPU
/// backend) the same loss curve bit for bit. Call it before building the
/// model; use [`Run::new_seed`] for the data loader's shuffle seed.
pub fn seed(run: &Run, device: &Device) -> u64 {
    let seed = run.new_seed_bits(64);
    device.seed(seed);
    seed
}

/// The file, in the run directory, where [`kept_seed`] keeps its seeds:
/// one `name seed` line each.
pub const KEPT_SEEDS_FILE: &str = "kept-seeds.txt";

/// A 64-bit seed that stays the same over a run's attempts: on the first
/// attempt, the next seed of the run's stream, kept under `name` in
/// `<run dir>/kept-seeds.txt` (by the master rank); on a run resumed in
/// place (`--resume-run`, whose seed stream goes on rather than starting
/// over), the one kept. Use it for what a resumed training must see
/// unchanged: generated data, the loader's shuffle seed. (A seed the
/// first attempt never drew is drawn and kept then.)
///
/// # Errors
/// If the file cannot be read or written, or holds no number for `name`.
///
/// # Panics
/// If `name` is empty or has whitespace (a programming error).
pub fn kept_seed(run: &Run, name: &str) -> Result<u64, BurnError> {
    assert!(
        !name.is_empty() && !name.contains(char::is_whitespace),
        "kept_seed: the name {name:?} must be one word"
    );
    let path = run.output_dir().join(KEPT_SEEDS_FILE);
    let text = if run.attempt() > 1 {
        match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(BurnError::Read { path, source }),
        }
    } else {
        String::new()
    };
    if let Some(line) = text.lines().find(|l| l.split(' ').next() == Some(name)) {
        return line
            .split(' ')
            .nth(1)
            .and_then(|seed| seed.parse().ok())
            .ok_or_else(|| BurnError::Seeds {
                path,
                reason: format!("the line {line:?} holds no seed"),
            });
    }
    let seed = run.new_seed_bits(64);
    if run.is_master() && !run.is_agent() {
        let kept = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(BurnError::Read { path, source }),
        };
        let kept = format!("{kept}{name} {seed}\n");
        rystematic::write_atomic(&path, kept.as_bytes())
            .map_err(|source| BurnError::Io { path, source })?;
    }
    Ok(seed)
}

/// The index, among the GPUs this process can see, that local rank
/// `local_rank` uses: with `CUDA_VISIBLE_DEVICES` (or ROCm's
/// `HIP_VISIBLE_DEVICES`) set to `n` devices the runtime numbers them 0 to
/// n-1, so rank `r` takes `r`; ranks beyond the visible devices are an
/// error rather than a silent share of one GPU.
///
/// # Errors
/// If `visible` lists no device, or fewer than `local_rank + 1`.
pub fn gpu_index(local_rank: u32, visible: Option<&str>) -> Result<usize, BurnError> {
    let Some(visible) = visible else {
        return Ok(local_rank as usize);
    };
    let count = visible
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .count();
    if count == 0 {
        return Err(BurnError::Device {
            local_rank,
            reason: format!("CUDA_VISIBLE_DEVICES={visible:?} lists no device"),
        });
    }
    if local_rank as usize >= count {
        return Err(BurnError::Device {
            local_rank,
            reason: format!("CUDA_VISIBLE_DEVICES={visible:?} lists only {count} device(s)"),
        });
    }
    Ok(local_rank as usize)
}

/// The environment's visible-device list, if set.
#[cfg(any(feature = "cuda", feature = "rocm"))]
fn visible_devices() -> Option<String> {
    std::env::var("CUDA_VISIBLE_DEVICES")
        .or_else(|_| std::env::var("HIP_VISIBLE_DEVICES"))
        .ok()
}

/// The device of this process: with the `cuda` (or `rocm`) feature, the
/// GPU of its local rank ([`gpu_index`]); otherwise Burn's pure-Rust CPU
/// backend (flex), whatever `CUDA_VISIBLE_DEVICES` says.
///
/// # Errors
/// If a GPU backend is enabled and the local rank has no GPU.
pub fn device(run: &Run) -> Result<Device, BurnError> {
    #[cfg(any(feature = "cuda", feature = "rocm"))]
    let index = gpu_index(run.local_rank(), visible_devices().as_deref())?;
    #[cfg(feature = "cuda")]
    let device = Device::cuda(index);
    #[cfg(all(feature = "rocm", not(feature = "cuda")))]
    let device = Device::rocm(index);
    #[cfg(not(any(feature = "cuda", feature = "rocm")))]
    let device = {
        // Every rank shares the CPU.
        let _ = run;
        Device::flex()
    };
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rank_picks_among_the_visible_gpus() {
        assert_eq!(gpu_index(1, None).unwrap(), 1);
        assert_eq!(gpu_index(1, Some("4,5")).unwrap(), 1);
        let err = gpu_index(2, Some("4,5")).unwrap_err().to_string();
        assert_eq!(
            err,
            "no GPU for local rank 2: CUDA_VISIBLE_DEVICES=\"4,5\" lists only 2 device(s)"
        );
        assert!(gpu_index(0, Some("")).is_err());
    }
}
