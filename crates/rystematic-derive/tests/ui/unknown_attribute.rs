#[derive(rystematic::Params)]
struct P {
    #[param(defualt = 3)]
    n: i64,
}

fn main() {}
