#[derive(rystematic::Params)]
struct Inner {
    x: i64,
}

#[derive(rystematic::Params)]
struct P {
    #[param(flatten, default = 1)]
    inner: Inner,
}

fn main() {}
