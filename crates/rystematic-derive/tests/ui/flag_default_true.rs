#[derive(rystematic::Params)]
struct P {
    #[param(default = true)]
    augment: bool,
}

fn main() {}
