#[derive(rystematic::Params)]
enum P {
    A,
    B,
}

#[derive(rystematic::Params)]
struct Tuple(i64);

fn main() {}
