//! A program whose only dependency is `rystematic` — what the README's
//! "Using rystematic in your project" section shows. The typed style, an
//! extension, logging and error context all go through rystematic's
//! re-exports.
//!
//! ```text
//! cargo run -p rystematic-example-standalone -- --name World
//! ```

use rystematic::anyhow::{self, Context as _};
use rystematic::{Extension, Outcome, Params, Run, tracing};

/// Parameters of the greeting.
#[derive(Params)]
struct Hello {
    /// The name to greet.
    name: String,
    /// Where to write the greeting, inside the run directory.
    #[param(default = "hello.txt")]
    file: String,
}

/// Greets someone and writes the greeting into the run directory.
#[rystematic::experiment]
fn standalone(params: Hello, run: &Run) -> anyhow::Result<()> {
    let greeting = format!("Hello {}!", params.name);
    println!("{greeting}");
    tracing::info!("greeted {}", params.name);
    let path = run.output_dir().join(&params.file);
    std::fs::write(&path, format!("{greeting}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Logs how each run ended, to show an extension needs nothing but
/// rystematic either.
struct Farewell;

impl Extension for Farewell {
    fn name(&self) -> &str {
        "farewell"
    }

    fn after(&self, _run: &Run, outcome: &Outcome<'_>) -> anyhow::Result<()> {
        tracing::info!("farewell: {outcome:?}");
        Ok(())
    }
}

rystematic::register_extension!(Farewell);

rystematic::main!();
