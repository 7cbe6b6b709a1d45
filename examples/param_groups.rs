//! Parameter groups: titled sections in `--help`, one flat map of values.
//!
//! ```text
//! cargo run --bin param_groups -- --help
//! ```

use rystematic::{Experiment, Param, ParamGroup};

const OWN_PARAMS: [&str; 5] = [
    "ungrouped_param",
    "param_a_1",
    "param_a_2",
    "param_b_1",
    "param_b_2",
];

fn main() {
    Experiment::new("param_groups", |params, _run| {
        for name in OWN_PARAMS {
            println!("{name}={}", params.value(name).expect("declared below"));
        }
        Ok::<_, anyhow::Error>(())
    })
    .param(Param::string("ungrouped_param").required())
    .param_group(
        ParamGroup::new("A param group")
            .param(Param::string("param_a_1"))
            .param(Param::string("param_a_2")),
    )
    .param_group(
        ParamGroup::new("Another param group")
            .param(Param::string("param_b_1"))
            .param(Param::string("param_b_2")),
    )
    .cli();
}
