//! The floor for `hello_world`: a bare Rust binary doing the same process
//! and file work with nothing but std — no argument parser, no YAML, no
//! logging framework. rystematic's overhead is measured against this.

use std::fs;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

const HELP: &str = "Usage: hello_floor [OPTIONS]\n\nOptions:\n      --name <TEXT>  The name to greet. Required.\n  -h, --help         Print help\n";

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return Ok(());
    }
    let name = args
        .iter()
        .position(|a| a == "--name")
        .and_then(|i| args.get(i + 1))
        .expect("--name is required");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let parent = std::path::absolute("output/hello-world")?;
    fs::create_dir_all(&parent)?;
    let dir = parent.join(format!("{}_{:06}", now.as_secs(), now.subsec_micros()));
    fs::create_dir(&dir)?;
    // Same durable atomic temp-file-and-rename as rystematic: data synced
    // before the rename, the directory after.
    let write = |name: &str, text: &str| -> std::io::Result<()> {
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut file = fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        fs::rename(&tmp, dir.join(name))?;
        fs::File::open(&dir)?.sync_all()
    };
    // rystematic writes a run's first files unsynced into a staging
    // directory, then syncs them all at once (concurrently) and the
    // experiment directory once the run directory has its name.
    let write_first = |name: &str, text: &str| fs::write(dir.join(name), text);
    let sync_first = || -> std::io::Result<()> {
        let files = ["parameters.yaml", "run.json", "."].map(|n| fs::File::open(dir.join(n)));
        std::thread::scope(|scope| {
            for file in files {
                let file = file?;
                scope.spawn(move || file.sync_all());
            }
            Ok::<_, std::io::Error>(())
        })?;
        fs::File::open(&parent)?.sync_all()
    };
    let seed = now.subsec_nanos();
    write_first(
        "parameters.yaml",
        &format!(
            "debug: false\nlocal_rank: 0\nname: {name}\noutput_dir: ./output\nparams_file: null\nrandom_seed: {seed}\nsubprocess: null\n"
        ),
    )?;
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log.txt"))?;
    let started = format!(
        "[{}] [INFO] [rystematic] Running experiment hello-world in {}\n",
        now.as_secs(),
        dir.display()
    );
    log.write_all(started.as_bytes())?;
    std::io::stderr().write_all(started.as_bytes())?;
    let info = |status: &str| {
        format!(
            "{{\n  \"experiment\": \"hello-world\",\n  \"status\": \"{status}\",\n  \"pid\": {},\n  \"random_seed\": {seed}\n}}\n",
            std::process::id()
        )
    };
    write_first("run.json", &info("running"))?;
    sync_first()?;
    let greeting = format!("Hello {name}!");
    println!("{greeting}");
    fs::write(dir.join("hello.txt"), format!("{greeting}\n"))?;
    let ended = format!(
        "[{}] [INFO] [rystematic] Experiment completed\n",
        now.as_secs()
    );
    log.write_all(ended.as_bytes())?;
    std::io::stderr().write_all(ended.as_bytes())?;
    write("run.json", &info("completed"))
}
