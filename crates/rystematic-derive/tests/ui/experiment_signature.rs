#[derive(rystematic::Params)]
struct P {
    n: i64,
}

#[rystematic::experiment]
fn no_params() -> anyhow::Result<()> {
    Ok(())
}

#[rystematic::experiment]
fn by_reference(params: &P) -> anyhow::Result<()> {
    Ok(())
}

#[rystematic::experiment]
fn no_result(params: P) {}

#[rystematic::experiment(nmae = "x")]
fn unknown_option(params: P) -> anyhow::Result<()> {
    Ok(())
}

fn main() {}
