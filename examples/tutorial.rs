//! The pystematic tutorial's first experiment: one parameter with a default.
//!
//! ```text
//! cargo run --bin tutorial -- --string-to-print "Hello"
//! ```

use rystematic::{Experiment, Param, Params, Run};

fn my_experiment(params: &Params, _run: &Run) -> anyhow::Result<()> {
    let text: String = params.get("string_to_print")?;
    println!("string_to_print is {text}");
    Ok(())
}

fn main() {
    Experiment::new("my_experiment", my_experiment)
        .param(
            Param::string("string_to_print")
                .help("This string will be printed when the experiment is run")
                .default("No string was given"),
        )
        .cli();
}
