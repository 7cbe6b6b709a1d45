use std::collections::HashMap;

#[derive(rystematic::Params)]
struct P {
    weights: HashMap<String, f64>,
}

fn main() {}
