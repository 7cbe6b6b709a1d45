//! `nested_groups`, the typed way: each experiment registers itself in its
//! group, and the shared parameter is one struct flattened into each.
//!
//! ```text
//! cargo run --bin typed_groups -- my-group2 my-group3 my-experiment5 --group-param x
//! ```

use rystematic::{Params, Run};

/// Parameters every experiment of the tree shares.
#[derive(Params)]
struct Shared {
    group_param: Option<String>,
}

#[derive(Params)]
struct Greeting {
    #[param(flatten)]
    shared: Shared,
}

fn greet(n: &str, params: &Greeting) -> anyhow::Result<()> {
    println!("Hello from my_experiment{n}");
    let group_param = params.shared.group_param.as_deref().unwrap_or("null");
    println!("group_param is {group_param}");
    Ok(())
}

#[rystematic::experiment]
fn my_experiment(params: Greeting, _run: &Run) -> anyhow::Result<()> {
    greet("", &params)
}

#[rystematic::experiment(group = "my_group2")]
fn my_experiment2(params: Greeting, _run: &Run) -> anyhow::Result<()> {
    greet("2", &params)
}

#[rystematic::experiment(group = "my_group2")]
fn my_experiment3(params: Greeting, _run: &Run) -> anyhow::Result<()> {
    greet("3", &params)
}

#[rystematic::experiment(group = "my_group2/my_group3")]
fn my_experiment4(params: Greeting, _run: &Run) -> anyhow::Result<()> {
    greet("4", &params)
}

#[rystematic::experiment(group = "my_group2/my_group3")]
fn my_experiment5(params: Greeting, _run: &Run) -> anyhow::Result<()> {
    greet("5", &params)
}

#[rystematic::experiment(group = "my_group2/my_group3")]
fn my_experiment6(params: Greeting, _run: &Run) -> anyhow::Result<()> {
    greet("6", &params)
}

rystematic::main!();
