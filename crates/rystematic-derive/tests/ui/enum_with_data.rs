#[derive(rystematic::ParamEnum)]
enum Optimiser {
    Sgd,
    Adam { beta: f64 },
}

fn main() {}
