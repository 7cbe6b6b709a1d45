#[derive(rystematic::Params)]
struct P {
    lr: f64,
    #[param(rename = "lr")]
    learning_rate: f64,
}

fn main() {}
