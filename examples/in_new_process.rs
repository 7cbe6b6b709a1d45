//! Running an experiment in a new process: the program re-executes itself
//! to run `child`, and `parent` waits for it (or kills it).
//!
//! ```text
//! cargo run --bin in_new_process -- parent --n 5
//! cargo run --bin in_new_process -- parent --kill
//! cargo run --bin in_new_process -- parent --shell 'echo from a program the child starts'
//! ```

use std::time::Duration;

use rystematic::{Experiment, Group, Param, Params, Run, Value};

fn child(params: &Params, _run: &Run) -> anyhow::Result<()> {
    // Any program the child starts (here through the shell) inherits its
    // environment, a rystematic program included: it must run normally.
    if let Some(script) = params.get::<Option<String>>("shell")? {
        let status = std::process::Command::new("sh")
            .args(["-c", &script])
            .status()?;
        anyhow::ensure!(status.success(), "`{script}` failed: {status}");
    }
    std::thread::sleep(Duration::from_secs_f64(params.get("sleep_s")?));
    println!("child got n={}", params.get::<i64>("n")?);
    Ok(())
}

fn parent(child: Experiment) -> Experiment {
    Experiment::new("parent", move |params: &Params, _run: &Run| {
        let kill: bool = params.get("kill")?;
        let hold: bool = params.get("hold")?;
        let handle = child.run_in_new_process([
            ("n", params.value("n").cloned().unwrap_or(Value::Null)),
            (
                "sleep_s",
                Value::from(if kill || hold { 60.0 } else { 0.0 }),
            ),
            (
                "shell",
                params.value("shell").cloned().unwrap_or(Value::Null),
            ),
        ])?;
        if kill {
            std::thread::sleep(Duration::from_millis(300));
            handle.kill();
        }
        let status = handle.wait();
        println!("child exited: {}", status);
        Ok::<_, anyhow::Error>(())
    })
    .param(Param::int("n").default(1))
    .param(Param::flag("kill").help("Kill the child instead of waiting for it."))
    .param(Param::flag("hold").help("The child sleeps a minute; wait for it."))
    .param(Param::string("shell").help("A shell command the child runs."))
}

fn main() {
    let child_exp = Experiment::new("child", child)
        .param(Param::int("n").required())
        .param(Param::float("sleep_s").default(0.0))
        .param(Param::string("shell").help("A shell command to run first."));
    Group::new("in_new_process")
        .experiment(child_exp.clone())
        .experiment(parent(child_exp))
        .cli();
}
