//! Every kind of parameter. Prints all resolved values, built-ins included,
//! as one JSON object on one line.
//!
//! ```text
//! cargo run --bin all_params -- --int-param 3 --tags a b --choice ADAM
//! ```

use rystematic::{Experiment, Param};

fn main() {
    Experiment::new("all_params", |params, _run| {
        println!("{}", serde_json::to_string(params)?);
        Ok::<_, anyhow::Error>(())
    })
    .param(Param::int("int_param").default(0).help("An integer."))
    .param(Param::float("float_param").default(0.5).help("A float."))
    .param(
        Param::string("str_param")
            .default("hello")
            .help("A string."),
    )
    .param(Param::flag("flag").help("An on/off switch."))
    .param(
        Param::string("choice")
            .allowed_values(["sgd", "adam"])
            .default("sgd")
            .help("One of a fixed set (case-insensitive)."),
    )
    .param(
        Param::string("tags")
            .multiple()
            .help("Zero or more strings."),
    )
    .param(Param::path("path_param").help("A path, no default."))
    .param(
        Param::string("env_param")
            .env("ALL_PARAMS_ENV_PARAM")
            .help("Read from the environment when not given."),
    )
    .param(Param::string("hidden_param").default("secret").hidden())
    .cli();
}
