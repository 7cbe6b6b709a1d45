//! `rystematic`: find, compare, rerun and verify runs. See `rystematic --help`.

fn main() {
    let code = rystematic_cli::cli::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
