//! An extension registered at link time reaches every experiment of the
//! program, with no explicit call.

use rystematic::{Experiment, Extension, HasParams, Param, Params, Run};

struct Linked;

impl Extension for Linked {
    fn name(&self) -> &str {
        "linked"
    }
    fn params(&self) -> Vec<Param> {
        vec![Param::string("linked_marker").default("present")]
    }
}

rystematic::register_extension!(Linked);

#[test]
fn linking_the_extension_enables_it() {
    let exp = Experiment::new("e", |_: &Params, _: &Run| Ok::<_, anyhow::Error>(()));
    assert!(exp.param_set().iter().any(|p| p.name() == "linked_marker"));
}
