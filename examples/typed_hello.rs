//! `hello_world`, the typed way: the parameters are a struct, the experiment
//! is a function, and `main!` builds the command line.
//!
//! ```text
//! cargo run --bin typed_hello -- --name World
//! ```

use rystematic::{Params, Run};

#[derive(Params)]
struct Hello {
    /// The name to greet.
    name: String,
}

#[rystematic::experiment]
fn hello_world(params: Hello, run: &Run) -> anyhow::Result<()> {
    let greeting = format!("Hello {}!", params.name);
    println!("{greeting}");
    std::fs::write(run.output_dir().join("hello.txt"), format!("{greeting}\n"))?;
    Ok(())
}

rystematic::main!();
