#[derive(rystematic::Params)]
struct P {
    #[param(rename = "Learning-Rate")]
    lr: f64,
}

fn main() {}
