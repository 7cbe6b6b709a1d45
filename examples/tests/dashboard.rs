//! The dashboard (`rystematic report` and `rystematic ui`) end to end: run
//! directories made by the example binaries (a sweep of `recorder`, a
//! `hello_world` run, a failing run), the page opened in a real headless
//! browser (Debian's `chromium`), and the DOM it built checked: one row per
//! run, a chart for a selected run with one point per recorded step, a
//! filter reducing the rows, pagination. Screenshots are kept under
//! `target/test-artifacts/`.
//!
//! Without chromium the browser tests skip with a message, unless
//! `RYSTEMATIC_REQUIRE_BROWSER=1` (set in CI) makes that a failure.
//!
//! `ui` is served in-process here ([`Dashboard`], the code the binary
//! runs): cargo builds no binaries of a dev-dependency. The binary itself,
//! its routes and its safety are tested in `crates/rystematic-cli/tests/ui.rs`.

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rystematic_cli::serve::Dashboard;
use serde_json::Value;
use support::Sandbox;
use support::tool::{Tool, tool};

const HELLO: &str = env!("CARGO_BIN_EXE_hello_world");
const FAILING: &str = env!("CARGO_BIN_EXE_failing");
const RECORDER: &str = env!("CARGO_BIN_EXE_recorder");
const SWEEP: &str = env!("CARGO_BIN_EXE_sweep");

/// Output directory with 5 runs: `recorder` swept over steps 5, 8 and 12,
/// a `hello_world` run and a failed `failing` run.
struct Runs {
    sb: Sandbox,
    /// `ls --json`.
    ls: Value,
}

impl Runs {
    fn make() -> Runs {
        let sb = Sandbox::new();
        sb.run(RECORDER, &["--sweep", "steps=5,8,12", "--jobs", "2"])
            .ok();
        sb.run(HELLO, &["--name", "World"]).ok();
        sb.run(FAILING, &["--mode", "error"]).expect_code(1);
        let output = sb.path().join("output");
        let Tool { stdout: out, .. } = tool(&["ls", output.to_str().unwrap(), "--json"]).expect(0);
        let ls: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(ls["runs"].as_array().unwrap().len(), 5, "{ls}");
        Runs { sb, ls }
    }

    fn output(&self) -> PathBuf {
        self.sb.path().join("output")
    }

    /// The `path` of the recorder run with `steps`.
    fn recorder_run(&self, steps: u64) -> String {
        self.ls["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["params"]["steps"] == steps)
            .and_then(|r| r["path"].as_str())
            .unwrap_or_else(|| panic!("no recorder run with {steps} steps: {}", self.ls))
            .to_owned()
    }
}

/// The JSON inlined in a page.
fn page_data(html: &str) -> Value {
    let start = html
        .find("<script id=\"data\" type=\"application/json\">")
        .expect("a data element")
        + "<script id=\"data\" type=\"application/json\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// A report's inlined scalars: run path → tag → series.
fn report_scalars(html: &str) -> serde_json::Map<String, Value> {
    let start = html
        .find("<script id=\"scalars\" type=\"text/plain\">")
        .expect("a scalars element")
        + "<script id=\"scalars\" type=\"text/plain\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    html[start..end]
        .split('\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let [path, series]: [Value; 2] = serde_json::from_str(line).unwrap();
            (path.as_str().unwrap().to_owned(), series)
        })
        .collect()
}

#[test]
fn a_report_is_one_self_contained_file_with_what_ls_shows() {
    let runs = Runs::make();
    let file = runs.sb.path().join("report.html");
    let Tool { stdout: out, .. } = tool(&[
        "report",
        runs.output().to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ])
    .expect(0);
    assert!(
        out.starts_with(&format!("wrote {} (5 runs, ", file.display())),
        "{out}"
    );
    let html = std::fs::read_to_string(&file).unwrap();
    // Nothing to fetch: no external scripts, styles, fonts or images.
    for needle in ["<link", "src=", "@import", "url(", "https://"] {
        assert!(!html.contains(needle), "the report contains {needle:?}");
    }
    let data = page_data(&html);
    assert_eq!(data["live"], false);
    // The same document as `ls --json`.
    assert_eq!(data["ls"], runs.ls);
    // Every recorder step, per tag, for each recorder run.
    let eight = runs.recorder_run(8);
    let scalars = report_scalars(&html);
    assert_eq!(
        scalars[&eight]["train/loss"]["steps"],
        serde_json::json!([0, 1, 2, 3, 4, 5, 6, 7])
    );
    assert_eq!(scalars[&eight]["train/acc"]["values"][4], 0.5);
    assert_eq!(scalars.len(), 3, "{scalars:?}");

    // Filters and --points.
    tool(&[
        "report",
        runs.output().to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
        "--status",
        "failed",
        "--points",
        "3",
    ])
    .expect(0);
    let data = page_data(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(data["ls"]["runs"].as_array().unwrap().len(), 1);
    assert_eq!(data["ls"]["runs"][0]["status"], "failed");
    tool(&[
        "report",
        runs.output().to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
        "--experiment",
        "recorder",
        "--points",
        "3",
    ])
    .expect(0);
    let scalars = report_scalars(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(
        scalars[&runs.recorder_run(12)]["train/acc"]["steps"],
        serde_json::json!([0, 5, 11]),
        "evenly spaced, first and last kept"
    );

    // Bad input: one clear error, nothing written.
    let Tool { stderr: err, .. } =
        tool(&["report", runs.output().to_str().unwrap(), "--points", "1"]).expect(2);
    assert!(err.contains("'1'") && err.contains("--points"), "{err}");
    let nowhere = runs.sb.path().join("no/such/dir/report.html");
    let Tool { stderr: err, .. } = tool(&[
        "report",
        runs.output().to_str().unwrap(),
        "-o",
        nowhere.to_str().unwrap(),
    ])
    .expect(1);
    assert!(
        err.starts_with(&format!("error: cannot access '{}': ", nowhere.display())),
        "{err}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(runs.sb.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Debian's chromium, or `None` (with a message) when it is missing and
/// not required.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("RYSTEMATIC_CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .filter_map(|name| {
                    std::env::var_os("PATH").and_then(|paths| {
                        std::env::split_paths(&paths)
                            .map(|dir| dir.join(name))
                            .find(|p| p.is_file())
                    })
                }),
        )
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("RYSTEMATIC_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "RYSTEMATIC_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
        );
        eprintln!(
            "skipping the browser test: no chromium on PATH (apt-get install chromium, \
             or set RYSTEMATIC_CHROMIUM)"
        );
    }
    found
}

/// Headless chromium with a fresh profile, reaching nothing but `url`.
fn browser(chromium: &Path, args: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--window-size=1400,1200",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("start chromium")
}

/// The DOM of `url` once the page says it shows what it was told to
/// (`data-ready="1"` on its body): loaded again, with more virtual time each
/// round, until it does or 60 s have passed.
fn ready_dom(chromium: &Path, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut budget = 2000;
    loop {
        let out = browser(
            chromium,
            &[&format!("--virtual-time-budget={budget}"), "--dump-dom"],
            url,
        );
        let dom = String::from_utf8_lossy(&out.stdout).into_owned();
        let body = dom
            .find("<body")
            .map(|at| &dom[at..at + dom[at..].find('>').unwrap_or(0)]);
        if body.is_some_and(|tag| tag.contains(" data-ready=\"1\"")) {
            return dom;
        }
        assert!(
            Instant::now() < deadline,
            "{url} never got ready\n--- dom\n{dom}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        budget = (budget * 2).min(30_000);
    }
}

/// Keeps a screenshot of `url` in `target/test-artifacts/NAME`.
fn screenshot(chromium: &Path, url: &str, name: &str) {
    // The test binary is target/<profile>/deps/<name>.
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap();
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    let _ = std::fs::remove_file(&file);
    let out = browser(
        chromium,
        &[
            "--virtual-time-budget=5000",
            &format!("--screenshot={}", file.display()),
        ],
        url,
    );
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "no screenshot of {url} ({size} bytes): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The table rows of a dumped DOM: each run's `data-run`.
fn rows(dom: &str) -> Vec<String> {
    dom.split("<tr data-run=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The chart lines of a dumped DOM: (tag, run, points, number of points in
/// the path's data).
fn lines(dom: &str) -> Vec<(String, String, usize, usize)> {
    let mut found = Vec::new();
    for chart in dom.split("<svg ").skip(1) {
        let Some(tag) = attr(chart, "data-tag") else {
            continue;
        };
        for path in chart.split("<path class=\"series").skip(1) {
            let head = &path[..path.find('>').unwrap()];
            let d = attr(head, "d").unwrap();
            found.push((
                tag.clone(),
                attr(head, "data-run").unwrap(),
                attr(head, "data-points").unwrap().parse().unwrap(),
                d.matches(['M', 'L']).count(),
            ));
        }
    }
    found
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(tag[start..start + tag[start..].find('"')?].to_owned())
}

/// What both the report and the live page must show for `runs` at `base`
/// (a URL without its fragment).
fn check_page(chromium: &Path, runs: &Runs, base: &str, shot: &str) {
    let eight = runs.recorder_run(8);
    let id = eight.rsplit('/').next().unwrap();

    // One row per run; a selected run (by id, as a link would) gets one
    // chart per tag with a point per recorded step.
    let url = format!("{base}#select={id}");
    let dom = ready_dom(chromium, &url);
    let mut shown = rows(&dom);
    shown.sort();
    let mut all: Vec<String> = runs.ls["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    assert_eq!(shown, all);
    let drawn = lines(&dom);
    let tags: Vec<_> = drawn.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(tags, ["final/acc", "final/loss", "train/acc", "train/loss"]);
    for (tag, run, points, in_path) in &drawn {
        assert_eq!(run, &eight);
        let want = if tag.starts_with("train/") { 8 } else { 1 };
        assert_eq!((*points, *in_path), (want, want), "{tag}");
    }
    assert!(dom.contains("<tr data-run=\"") && dom.contains(" class=\"selected\""));
    // The sweep with its progress.
    assert!(dom.contains("data-done=\"3\" data-total=\"3\""), "{dom}");
    // The parameter-against-metric view over the sweep.
    assert!(dom.contains("<path class=\"scatter\""), "{dom}");

    // A filter reduces the rows: text, status, experiment.
    let dom = ready_dom(chromium, &format!("{base}#filter=steps%3D8"));
    assert_eq!(rows(&dom), std::slice::from_ref(&eight));
    let dom = ready_dom(chromium, &format!("{base}#status=failed"));
    let failed = rows(&dom);
    assert_eq!(failed.len(), 1);
    assert!(failed[0].starts_with("failing/"), "{failed:?}");
    let dom = ready_dom(
        chromium,
        &format!("{base}#experiment=recorder&sort=steps&desc=1"),
    );
    let sorted = rows(&dom);
    assert_eq!(sorted.len(), 3);
    assert_eq!(sorted[1], eight, "sorted by steps, largest first");
    assert!(lines(&dom).is_empty(), "nothing selected, nothing drawn");

    // One page of rows at a time.
    let dom = ready_dom(chromium, &format!("{base}#pagesize=2&page=2"));
    assert_eq!(rows(&dom).len(), 1);
    assert!(dom.contains("5–5 of 5"), "{dom}");

    screenshot(chromium, &format!("{base}#select={id}"), shot);
}

#[test]
fn the_report_in_a_browser() {
    let Some(chromium) = chromium() else {
        return;
    };
    let runs = Runs::make();
    let file = runs.sb.path().join("report.html");
    tool(&[
        "report",
        runs.output().to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ])
    .expect(0);
    check_page(
        &chromium,
        &runs,
        &format!("file://{}", file.display()),
        "report.png",
    );
}

#[test]
fn the_dashboard_in_a_browser() {
    let Some(chromium) = chromium() else {
        return;
    };
    let runs = Runs::make();
    let dashboard =
        Dashboard::bind(&runs.output(), [127, 0, 0, 1].into(), 0).expect("bind the dashboard");
    let url = dashboard.url();
    // Serves until the test process ends.
    std::thread::spawn(move || dashboard.run());
    check_page(&chromium, &runs, &url, "dashboard.png");
}

/// The body of `GET path` from the dashboard at `url`.
fn get(url: &str, path: &str) -> String {
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").unwrap().1.to_owned()
}

/// Polls `done` until it holds, for at most 30 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_dashboard_follows_a_running_sweep() {
    let sb = Sandbox::new();
    let output = sb.path().join("output");
    std::fs::create_dir_all(&output).unwrap();
    let dashboard = Dashboard::bind(&output, [127, 0, 0, 1].into(), 0).unwrap();
    let url = dashboard.url();
    std::thread::spawn(move || dashboard.run());
    // `work` over 0, 1, 2, two at a time, where 1 and 2 wait for `release`
    // (or 300 s: long enough for a loaded machine to check the held state).
    let sweep = sb
        .cmd(SWEEP)
        .args([
            "work",
            "--sweep",
            "int_param=0..3",
            "--str-param",
            "x",
            "--sleep-s",
            "300",
            "--sleep-from",
            "1",
            "--sleep-until",
            "release",
            "--jobs",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A failed assertion must not leave the held sweep behind (its runs
    // die with it).
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut sweep = KillOnDrop(sweep);
    let progress = || -> Option<(u64, u64)> {
        let sweeps: Value = serde_json::from_str(&get(&url, "/api/sweeps")).unwrap();
        let counts = &sweeps.get(0)?["counts"];
        Some((
            counts["completed"].as_u64().unwrap_or(0),
            counts["running"].as_u64().unwrap_or(0),
        ))
    };
    let running_rows = || -> usize {
        let runs: Value = serde_json::from_str(&get(&url, "/api/runs")).unwrap();
        let runs = runs["runs"].as_array().unwrap();
        runs.iter().filter(|r| r["status"] == "running").count()
    };
    wait_until("one run completed and two running", || {
        progress() == Some((1, 2)) && running_rows() == 2
    });
    let chromium = chromium();
    if let Some(chromium) = &chromium {
        let dom = ready_dom(chromium, &url);
        assert!(dom.contains("data-done=\"1\" data-total=\"3\""), "{dom}");
        assert_eq!(dom.matches("data-status=\"running\"").count(), 2, "{dom}");
    }
    std::fs::write(sb.path().join("release"), "").unwrap();
    wait_until("all three completed", || progress() == Some((3, 0)));
    assert!(sweep.0.wait().unwrap().success());
    if let Some(chromium) = &chromium {
        let dom = ready_dom(chromium, &url);
        assert!(dom.contains("data-done=\"3\" data-total=\"3\""), "{dom}");
        assert_eq!(dom.matches("data-status=\"completed\"").count(), 3, "{dom}");
    }
}

/// Copies directory `from` (files only, one level of subfolders) to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn many_runs_are_shown_a_page_at_a_time() {
    let Some(chromium) = chromium() else {
        return;
    };
    // One real recorder run, copied to 250 more run directories.
    let sb = Sandbox::new();
    sb.run(RECORDER, &["--steps", "3"]).ok();
    let run = sb.only_run_dir("recorder");
    for k in 0..250 {
        copy_dir(
            &run,
            &run.with_file_name(format!("2026-11-28_00-00-00_c{k:05}")),
        );
    }
    let file = sb.path().join("report.html");
    let output = sb.path().join("output");
    let Tool { stdout: out, .. } = tool(&[
        "report",
        output.to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ])
    .expect(0);
    assert!(out.contains("(251 runs, "), "{out}");
    let base = format!("file://{}", file.display());
    let dom = ready_dom(&chromium, &base);
    assert_eq!(rows(&dom).len(), 100, "one page of rows, not all 251");
    assert!(dom.contains("1–100 of 251"), "{dom}");
    let dom = ready_dom(&chromium, &format!("{base}#page=2"));
    assert_eq!(rows(&dom).len(), 51);
    assert!(dom.contains("201–251 of 251"), "{dom}");
}
