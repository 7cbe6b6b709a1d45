//! Handing device ids (GPUs) to runs: each run gets `per_run` ids, and an id
//! goes to at most `share` concurrent runs (1 unless asked).

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub(crate) struct DeviceSlots {
    ids: Vec<String>,
    per_run: usize,
    share: usize,
    in_use: HashMap<String, usize>,
}

impl DeviceSlots {
    /// Checks that one run can ever be served.
    pub(crate) fn new(
        ids: Vec<String>,
        per_run: usize,
        share: usize,
    ) -> Result<DeviceSlots, String> {
        if per_run == 0 || share == 0 {
            return Err("gpus per run and runs per device must be at least 1".to_owned());
        }
        if per_run > ids.len() {
            return Err(format!(
                "each run needs {per_run} device(s) but only {} are available ({})",
                ids.len(),
                if ids.is_empty() {
                    "set CUDA_VISIBLE_DEVICES or give device ids".to_owned()
                } else {
                    ids.join(",")
                }
            ));
        }
        Ok(DeviceSlots {
            ids,
            per_run,
            share,
            in_use: HashMap::new(),
        })
    }

    /// The device ids from `CUDA_VISIBLE_DEVICES`.
    pub(crate) fn from_env() -> Vec<String> {
        std::env::var("CUDA_VISIBLE_DEVICES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ids for one more run, least used first; `None` if not enough are free.
    pub(crate) fn acquire(&mut self) -> Option<Vec<String>> {
        let mut free: Vec<&String> = self
            .ids
            .iter()
            .filter(|id| self.in_use.get(*id).copied().unwrap_or(0) < self.share)
            .collect();
        if free.len() < self.per_run {
            return None;
        }
        free.sort_by_key(|id| self.in_use.get(*id).copied().unwrap_or(0));
        let chosen: Vec<String> = free.into_iter().take(self.per_run).cloned().collect();
        for id in &chosen {
            *self.in_use.entry(id.clone()).or_default() += 1;
        }
        Some(chosen)
    }

    /// Returns a run's ids.
    pub(crate) fn release(&mut self, ids: &[String]) {
        for id in ids {
            if let Some(count) = self.in_use.get_mut(id) {
                *count = count.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn never_hands_an_id_to_two_runs_unless_shared() {
        let mut slots = DeviceSlots::new(ids(&["0", "1", "2"]), 2, 1).unwrap();
        let a = slots.acquire().unwrap();
        assert_eq!(a, ids(&["0", "1"]));
        assert!(slots.acquire().is_none(), "only one id left");
        slots.release(&a);
        assert_eq!(slots.acquire().unwrap().len(), 2);

        let mut shared = DeviceSlots::new(ids(&["0"]), 1, 2).unwrap();
        assert_eq!(shared.acquire().unwrap(), ids(&["0"]));
        assert_eq!(shared.acquire().unwrap(), ids(&["0"]));
        assert!(shared.acquire().is_none());
    }

    #[test]
    fn impossible_requests_fail_up_front() {
        let err = DeviceSlots::new(ids(&["0"]), 2, 1).unwrap_err();
        assert!(err.contains("needs 2 device(s) but only 1"), "{err}");
        let err = DeviceSlots::new(Vec::new(), 1, 1).unwrap_err();
        assert!(err.contains("CUDA_VISIBLE_DEVICES"), "{err}");
    }
}
