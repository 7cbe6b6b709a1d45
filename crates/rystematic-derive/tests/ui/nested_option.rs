#[derive(rystematic::Params)]
struct P {
    xs: Option<Vec<i64>>,
}

fn main() {}
