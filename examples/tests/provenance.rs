//! Provenance in run.json (executable and its SHA-256, build, experiment
//! path) and `git.diff` beside it; `rystematic rerun` and `verify` built on
//! it, end to end.

mod support;

use std::path::{Path, PathBuf};

use rystematic::sha256_file;
use support::tool::{Tool, tool};
use support::{Sandbox, git, read, run_json};

const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");
const RECORDER: &str = env!("CARGO_BIN_EXE_recorder");
const SWEEP: &str = env!("CARGO_BIN_EXE_sweep");

#[test]
fn run_json_records_the_executable_its_hash_the_build_and_the_experiment_path() {
    let sb = Sandbox::new();
    let cache = sb.path().join("cache");
    let run = |bin: &str, args: &[&str]| {
        let out = sb
            .cmd(bin)
            .args(args)
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(SWEEP, &["work", "--int-param", "1", "--str-param", "a"]);
    let info = run_json(&sb.only_run_dir("work"));
    let exe = std::fs::canonicalize(SWEEP).unwrap();
    assert_eq!(info["executable"], exe.to_str().unwrap());
    let sha = sha256_file(&exe).unwrap();
    assert_eq!(info["executable_sha256"], sha.as_str());
    assert_eq!(
        info["experiment_path"],
        serde_json::json!(["sweep", "work"])
    );
    assert!(
        info["build"]["rustc"]
            .as_str()
            .unwrap()
            .starts_with("rustc 1."),
        "{info}"
    );
    assert_eq!(info["build"]["profile"], "debug");
    assert!(
        info["build"]["target"].as_str().unwrap().contains("-"),
        "{info}"
    );
    assert_eq!(info["argv"][1], "work");

    // The digest is cached by the file's identity: the next run reads it.
    let cached: Vec<PathBuf> = std::fs::read_dir(cache.join("rystematic/exe-sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1);
    assert_eq!(read(&cached[0]), sha);
    run(HELLO, &["--name", "x"]);
    let hello = run_json(&sb.only_run_dir("hello-world"));
    assert_eq!(hello["experiment_path"], serde_json::json!(["hello-world"]));
    assert_eq!(
        hello["executable_sha256"].as_str().unwrap(),
        sha256_file(Path::new(HELLO)).unwrap()
    );
}

#[test]
fn a_dirty_tree_saves_its_diff_beside_run_json() {
    let sb = Sandbox::new();
    git(sb.path(), &["init", "-q"]);
    sb.write("tracked.txt", "v1\n");
    sb.write(".gitignore", "output/\n");
    git(sb.path(), &["add", "."]);
    git(sb.path(), &["commit", "-q", "-m", "first"]);
    sb.run(HELLO, &["--name", "clean"]).ok();
    let clean = sb.only_run_dir("hello-world");
    assert_eq!(run_json(&clean)["git"]["dirty"], false);
    assert!(!clean.join("git.diff").exists());

    sb.write("tracked.txt", "v2\n");
    sb.write("untracked.txt", "not in the diff\n");
    sb.run(HELLO, &["--name", "dirty"]).ok();
    let dirty = sb
        .run_dirs("hello-world")
        .into_iter()
        .find(|d| *d != clean)
        .unwrap();
    assert_eq!(run_json(&dirty)["git"]["dirty"], true);
    let diff = read(&dirty.join("git.diff"));
    assert!(diff.contains("-v1\n+v2\n"), "{diff}");
    assert!(!diff.contains("untracked"), "{diff}");
    // The diff applies back onto the commit.
    git(sb.path(), &["checkout", "-q", "tracked.txt"]);
    git(
        sb.path(),
        &["apply", dirty.join("git.diff").to_str().unwrap()],
    );
    assert_eq!(read(&sb.path().join("tracked.txt")), "v2\n");
}

/// A `hello_world` run in the sandbox with its own cache directory, and,
/// with `git_works` false, a `git` on the PATH that always fails; its
/// run.json, with the saved diff (if any) under `diff`.
fn hello_in_repo(sb: &Sandbox, git_works: bool) -> serde_json::Value {
    let before = sb.run_dirs("hello-world");
    let mut cmd = sb.cmd(HELLO);
    cmd.env("XDG_CACHE_HOME", sb.path().join("cache"));
    if !git_works {
        let fake = sb.path().join("fake-bin");
        std::fs::create_dir_all(&fake).unwrap();
        let git = fake.join("git");
        std::fs::write(&git, "#!/bin/sh\nexit 1\n").unwrap();
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&git, executable).unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", fake.display()));
    }
    support::Run::of(cmd.args(["--name", "x"]).output().unwrap()).ok();
    let dir = sb
        .run_dirs("hello-world")
        .into_iter()
        .find(|d| !before.contains(d))
        .unwrap();
    let mut info = run_json(&dir);
    info["diff"] = std::fs::read_to_string(dir.join("git.diff"))
        .map_or(serde_json::Value::Null, serde_json::Value::from);
    info["dir"] = dir.to_str().unwrap().into();
    info
}

/// The inode of a run's `git.diff`.
fn diff_inode(run: &serde_json::Value) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let dir = Path::new(run["dir"].as_str().unwrap());
    std::fs::metadata(dir.join("git.diff")).unwrap().ino()
}

#[test]
fn an_unchanged_tree_is_checked_without_running_git_and_a_changed_one_is_not() {
    let sb = Sandbox::new();
    git(sb.path(), &["init", "-q"]);
    sb.write("tracked.txt", "v1\n");
    sb.write(".gitignore", "output/\ncache/\nfake-bin/\n");
    git(sb.path(), &["add", "."]);
    git(sb.path(), &["commit", "-q", "-m", "first"]);
    // As in a real repository: files older than the index (not "racily
    // clean"), so their stat data can be trusted.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    for file in ["tracked.txt", ".gitignore"] {
        let file = std::fs::File::options()
            .write(true)
            .open(sb.path().join(file))
            .unwrap();
        file.set_modified(old).unwrap();
    }
    git(sb.path(), &["update-index", "-q", "--really-refresh"]);
    sb.write("tracked.txt", "v2\n");

    let first = hello_in_repo(&sb, true);
    assert_eq!(first["git"]["dirty"], true);
    assert!(first["diff"].as_str().unwrap().contains("+v2"), "{first}");
    // Nothing moved: the same answer with no working git at all, and the
    // same diff file, linked rather than copied.
    let cached = hello_in_repo(&sb, false);
    assert_eq!(cached["git"]["dirty"], true);
    assert_eq!(cached["diff"], first["diff"]);
    assert_eq!(diff_inode(&cached), diff_inode(&first));
    // A diff edited in place through a run's link is never handed on.
    let linked = Path::new(cached["dir"].as_str().unwrap()).join("git.diff");
    std::fs::write(&linked, "edited\n").unwrap();
    let after_edit = hello_in_repo(&sb, false);
    assert_eq!(after_edit["git"]["dirty"], serde_json::Value::Null);
    let asked_again = hello_in_repo(&sb, true);
    assert_eq!(asked_again["diff"], first["diff"]);

    // An edit, or staging, invalidates it: git is asked (and here fails).
    sb.write("tracked.txt", "v3, longer\n");
    let edited = hello_in_repo(&sb, false);
    assert_eq!(edited["git"]["dirty"], serde_json::Value::Null);
    assert_eq!(edited["diff"], serde_json::Value::Null);
    let fresh = hello_in_repo(&sb, true);
    assert!(
        fresh["diff"].as_str().unwrap().contains("+v3, longer"),
        "{fresh}"
    );
    git(sb.path(), &["add", "tracked.txt"]);
    assert_eq!(
        hello_in_repo(&sb, false)["git"]["dirty"],
        serde_json::Value::Null
    );
    // A commit makes it clean, and that is cached too.
    git(sb.path(), &["commit", "-q", "-m", "v3"]);
    assert_eq!(hello_in_repo(&sb, true)["git"]["dirty"], false);
    assert_eq!(hello_in_repo(&sb, false)["git"]["dirty"], false);
}

#[test]
fn rerun_makes_a_new_run_with_the_recorded_parameters_and_overrides() {
    let sb = Sandbox::new();
    sb.run(HELLO, &["--name", "Ada", "--random-seed", "5"]).ok();
    let first = sb.only_run_dir("hello-world");
    let out = sb.path().join("output");
    let Tool { stdout, .. } = tool(&["rerun", first.to_str().unwrap()]).expect(0);
    let dirs = sb.run_dirs("hello-world");
    assert_eq!(dirs.len(), 2);
    let second = dirs.iter().find(|d| **d != first).unwrap();
    assert!(stdout.contains(&second.display().to_string()), "{stdout}");
    assert_eq!(read(&second.join("hello.txt")), "Hello Ada!\n");
    assert_eq!(run_json(second)["random_seed"], 5);

    tool(&[
        "rerun",
        &id(&first),
        "--dir",
        out.to_str().unwrap(),
        "--",
        "--name",
        "Bo",
    ])
    .expect(0);
    let third = sb
        .run_dirs("hello-world")
        .into_iter()
        .find(|d| d != &first && d != second)
        .unwrap();
    assert_eq!(read(&third.join("hello.txt")), "Hello Bo!\n");

    // It ran in the recorded working directory, so the relative
    // `output_dir` still led to the same place and was not overridden.
    let cwd = std::fs::canonicalize(sb.path()).unwrap();
    assert_eq!(run_json(&first)["cwd"], cwd.to_str().unwrap());
    assert!(read(&third.join("parameters.yaml")).contains("output_dir: ./output\n"));

    // Runs moved elsewhere: the rerun lands beside them all the same.
    let moved = sb.path().join("archive");
    std::fs::rename(&out, &moved).unwrap();
    let old = moved.join("hello-world").join(id(&first));
    tool(&["rerun", old.to_str().unwrap()]).expect(0);
    assert_eq!(support::run_dirs(&moved.join("hello-world")).len(), 4);
    assert!(!out.exists());
}

#[test]
fn rerun_refuses_a_changed_or_missing_binary_unless_forced() {
    let sb = Sandbox::new();
    let copy = sb.path().join("hello_copy");
    std::fs::copy(HELLO, &copy).unwrap();
    sb.run(copy.to_str().unwrap(), &["--name", "x"]).ok();
    let run = sb.only_run_dir("hello-world");
    let run = run.to_str().unwrap();

    // Rebuilt (here: a byte appended, which an ELF loader ignores).
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes.push(0);
    std::fs::write(&copy, &bytes).unwrap();
    let Tool { stderr, .. } = tool(&["rerun", run]).expect(1);
    assert!(
        stderr.contains("changed since the run") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(sb.run_dirs("hello-world").len(), 1, "nothing ran");
    tool(&["rerun", run, "--force"]).expect(0);
    assert_eq!(sb.run_dirs("hello-world").len(), 2);

    std::fs::remove_file(&copy).unwrap();
    let Tool { stderr, .. } = tool(&["rerun", run, "--force"]).expect(1);
    assert!(
        stderr.contains("is gone") && stderr.contains("hello_copy"),
        "{stderr}"
    );
}

#[test]
fn verify_passes_on_a_reproducible_run_and_names_the_first_difference() {
    let sb = Sandbox::new();
    sb.run(RECORDER, &["--steps", "30"]).ok();
    let run = sb.only_run_dir("recorder");
    let Tool { stdout, .. } = tool(&["verify", run.to_str().unwrap()]).expect(0);
    assert!(stdout.starts_with("identical: 62 scalars"), "{stdout}");

    // Tamper with one recorded value: verify names its step and tag.
    let csv = read(&run.join("scalars.csv"));
    let tampered = csv.replacen("17,train/acc,0.5666666666666667", "17,train/acc,0.5", 1);
    assert_ne!(csv, tampered, "{csv}");
    std::fs::write(run.join("scalars.csv"), tampered).unwrap();
    let Tool { stdout, .. } = tool(&["verify", run.to_str().unwrap()]).expect(1);
    assert!(
        stdout.starts_with(
            "differs at step 17 tag 'train/acc': recorded 0.5, rerun 0.5666666666666667"
        ),
        "{stdout}"
    );

    sb.run(HELLO, &["--name", "x"]).ok();
    let hello = sb.only_run_dir("hello-world");
    let Tool { stderr, .. } = tool(&["verify", hello.to_str().unwrap()]).expect(1);
    assert!(stderr.contains("recorded no scalars"), "{stderr}");
}

fn id(dir: &Path) -> String {
    dir.file_name().unwrap().to_str().unwrap().to_owned()
}
