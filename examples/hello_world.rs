//! The smallest experiment: one parameter, one line of output, one file.
//!
//! ```text
//! cargo run --bin hello_world -- --name World
//! ```

use rystematic::{Experiment, Param, Params, Run};

fn hello_world(params: &Params, run: &Run) -> anyhow::Result<()> {
    let name: String = params.get("name")?;
    let greeting = format!("Hello {name}!");
    println!("{greeting}");
    std::fs::write(run.output_dir().join("hello.txt"), format!("{greeting}\n"))?;
    Ok(())
}

fn main() {
    Experiment::new("hello_world", hello_world)
        .version(env!("CARGO_PKG_VERSION"))
        .param(Param::string("name").required().help("The name to greet."))
        .cli();
}
