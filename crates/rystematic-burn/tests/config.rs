//! One `#[derive(Params)]` struct is both the command line and Burn's
//! `Config`: the command line fills it, `save_config` writes it into the
//! run directory, and Burn's `Config::load` reads the same values back.

use std::sync::{Arc, Mutex};

use rystematic::{Experiment, Params, Run};
use rystematic_burn::burn::config::Config;
use serde::{Deserialize, Serialize};

#[derive(Params, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Training {
    /// Passes over the data.
    #[param(default = 3)]
    epochs: usize,
    /// Learning rate.
    #[param(default = 1e-2)]
    lr: f64,
    /// Optional note.
    note: Option<String>,
}

impl Config for Training {}

#[test]
fn a_params_struct_is_a_burn_config() {
    let out = tempfile::tempdir().unwrap();
    let saved = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&saved);
    let experiment = Experiment::typed("config", move |params: Training, run: &Run| {
        let path = rystematic_burn::save_config(run, &params)?;
        *seen.lock().unwrap() = Some((params, path));
        Ok::<_, anyhow::Error>(())
    });
    experiment
        .try_cli_from([
            "prog",
            "--output-dir",
            out.path().to_str().unwrap(),
            "--lr",
            "0.5",
            "--note",
            "wide",
        ])
        .unwrap();
    let (params, path) = saved.lock().unwrap().take().expect("the experiment ran");
    assert_eq!(
        params,
        Training {
            epochs: 3,
            lr: 0.5,
            note: Some("wide".into())
        }
    );
    assert_eq!(path.file_name().unwrap(), rystematic_burn::CONFIG_FILE);
    assert_eq!(Training::load(&path).unwrap(), params);
}
