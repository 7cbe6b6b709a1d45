//! Groups nested three deep; `group_param` is declared once, on the
//! outermost group, and every experiment below inherits it.
//!
//! ```text
//! cargo run --bin nested_groups -- my-group2 my-group3 my-experiment5 --group-param x
//! ```

use rystematic::{Experiment, Group, Param};

/// `my_experiment{n}`: says hello and shows the inherited parameter.
fn greeter(n: &'static str) -> Experiment {
    Experiment::new(&format!("my_experiment{n}"), move |params, _run| {
        println!("Hello from my_experiment{n}");
        // `Value`'s text form: the value, or `null` when not given.
        let group_param = params
            .value("group_param")
            .expect("inherited from my_group");
        println!("group_param is {group_param}");
        Ok::<_, anyhow::Error>(())
    })
}

fn main() {
    let my_group3 = Group::new("my_group3")
        .experiment(greeter("4"))
        .experiment(greeter("5"))
        .experiment(greeter("6"));
    let my_group2 = Group::new("my_group2")
        .experiment(greeter("2"))
        .experiment(greeter("3"))
        .group(my_group3);
    Group::new("my_group")
        .param(Param::string("group_param"))
        .experiment(greeter(""))
        .group(my_group2)
        .cli();
}
