//! `rystematic ui` as a process: the URL on the first line, the routes,
//! read-only methods, and no way out of the output directory — `..` in
//! every spelling, absolute paths, symlinks to runs and files outside it.
//! The page itself is tested in a real browser in
//! `examples/tests/dashboard.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rystematic");

/// A `rystematic ui` process, killed when dropped.
struct Ui {
    child: Child,
    port: u16,
}

impl Ui {
    fn start(dir: &Path) -> Ui {
        let mut child = Command::new(BIN)
            .args(["ui", dir.to_str().unwrap(), "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The first line is the URL; it is printed once the port is bound,
        // so reading it is the wait.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim_end()
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("first line is not the URL: {line:?}"));
        Ui { child, port }
    }

    /// Sends one raw request (the target exactly as given, no
    /// normalisation) and returns the status and body.
    fn request(&self, method: &str, target: &str, host: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {response:?}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    fn get(&self, target: &str) -> (u16, String) {
        self.request("GET", target, &format!("127.0.0.1:{}", self.port))
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run directory as rystematic writes it, with a two-tag `scalars.csv`.
fn make_run(dir: &Path, experiment: &str, lr: f64, steps: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let info = serde_json::json!({
        "experiment": experiment, "status": "completed",
        "started": "2026-11-28T05:15:13.000000+00:00",
        "ended": "2026-11-28T05:16:13.000000+00:00", "duration_s": 60.0,
        "error": null, "argv": ["/opt/prog", experiment], "host": "elsewhere",
        "pid": 1, "output_dir": dir, "git": null, "rystematic_version": "0.1.0",
        "random_seed": 1,
    });
    std::fs::write(dir.join("run.json"), info.to_string()).unwrap();
    std::fs::write(dir.join("parameters.yaml"), format!("lr: {lr}\n")).unwrap();
    let mut csv = String::from("step,tag,value\n");
    for step in 0..steps {
        csv.push_str(&format!(
            "{step},loss,{}\n{step},acc,{}\n",
            1.0 / (step + 1) as f64,
            step
        ));
    }
    std::fs::write(dir.join("scalars.csv"), csv).unwrap();
}

#[test]
fn serves_the_page_and_the_runs_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    make_run(
        &out.join("train/2026-11-28_05-15-13_aaaaaa"),
        "train",
        0.1,
        7,
    );
    make_run(
        &out.join("train/2026-11-28_05-15-14_bbbbbb"),
        "train",
        0.2,
        3,
    );
    let broken = out.join("train/2026-11-28_05-15-15_cccccc");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("run.json"), "{\"experiment\": ").unwrap();
    let ui = Ui::start(&out);

    let (status, page) = ui.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("id=\"runs\"") && page.contains("\"live\":true"));

    let (status, runs) = ui.get("/api/runs");
    assert_eq!(status, 200, "{runs}");
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    let ids: Vec<_> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "train/2026-11-28_05-15-13_aaaaaa",
            "train/2026-11-28_05-15-14_bbbbbb"
        ]
    );
    assert_eq!(runs["runs"][0]["params"]["lr"], 0.1);
    assert_eq!(runs["runs"][1]["metrics"]["loss"]["step"], 2);
    // The damaged run is listed with its reason, as `ls` does.
    assert!(
        runs["damaged"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("run.json is cut short"),
        "{runs}"
    );

    let (status, scalars) = ui.get("/api/scalars?run=train%2F2026-11-28_05-15-13_aaaaaa");
    assert_eq!(status, 200, "{scalars}");
    let scalars: serde_json::Value = serde_json::from_str(&scalars).unwrap();
    assert_eq!(scalars["loss"]["steps"].as_array().unwrap().len(), 7);
    assert_eq!(scalars["acc"]["values"][6], 6.0);
    let (status, _) = ui.get("/api/scalars?run=train/2026-11-28_05-15-15_cccccc");
    assert_eq!(status, 200, "a damaged run has no scalars, and no error");

    // Read-only.
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let (status, body) = ui.request(method, "/api/runs", &format!("127.0.0.1:{}", ui.port));
        assert_eq!(status, 405, "{method}: {body}");
    }
    let (status, body) = ui.request("HEAD", "/", &format!("localhost:{}", ui.port));
    assert_eq!((status, body.as_str()), (200, ""));
    // A page elsewhere whose name resolves to 127.0.0.1 (DNS rebinding).
    let (status, _) = ui.request("GET", "/api/runs", &format!("evil.example:{}", ui.port));
    assert_eq!(status, 403);
}

#[test]
fn nothing_outside_the_output_directory_is_served() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("output");
    make_run(
        &out.join("train/2026-11-28_05-15-13_aaaaaa"),
        "train",
        0.1,
        2,
    );
    // A run outside, reached through a symlinked experiment folder, and a
    // legit run whose scalars.csv links to a file outside.
    let outside = tmp.path().join("outside");
    make_run(
        &outside.join("2026-11-28_05-15-13_secret"),
        "secret",
        0.5,
        2,
    );
    std::fs::write(outside.join("secret.csv"), "step,tag,value\n0,SECRET,1\n").unwrap();
    std::os::unix::fs::symlink(&outside, out.join("linked")).unwrap();
    let sneaky = out.join("train/2026-11-28_05-15-14_sneaky");
    make_run(&sneaky, "train", 0.2, 2);
    std::fs::remove_file(sneaky.join("scalars.csv")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.csv"), sneaky.join("scalars.csv")).unwrap();
    // Runs inside whose parameters.yaml or run.json link to files outside.
    std::fs::write(outside.join("secret.yaml"), "secret: SECRET\n").unwrap();
    let linked_params = out.join("train/2026-11-28_05-15-15_params");
    make_run(&linked_params, "train", 0.3, 2);
    std::fs::remove_file(linked_params.join("parameters.yaml")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret.yaml"),
        linked_params.join("parameters.yaml"),
    )
    .unwrap();
    let linked_info = out.join("train/2026-11-28_05-15-16_info");
    std::fs::create_dir_all(&linked_info).unwrap();
    std::os::unix::fs::symlink(
        outside.join("2026-11-28_05-15-13_secret/run.json"),
        linked_info.join("run.json"),
    )
    .unwrap();
    let ui = Ui::start(&out);

    let secret_dir = outside.join("2026-11-28_05-15-13_secret");
    let secret = secret_dir.to_str().unwrap();
    for target in [
        "/../outside/secret.csv",
        "/%2e%2e/outside/secret.csv",
        "/%2E%2E%2Foutside%2Fsecret.csv",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "//etc/passwd",
        "/etc/passwd",
        "/api/../../outside/secret.csv",
        "/api/scalars?run=../outside",
        "/api/scalars?run=..%2F..%2Foutside%2F2026-11-28_05-15-13_secret",
        "/api/scalars?run=%2e%2e/outside",
        "/api/scalars?run=train/..",
        "/api/scalars?run=train/../../outside/2026-11-28_05-15-13_secret",
        &format!("/api/scalars?run={secret}"),
        "/api/scalars?run=%2Fetc%2Fpasswd",
        "/api/scalars?run=linked/2026-11-28_05-15-13_secret",
        "/api/scalars?run=train/2026-11-28_05-15-14_sneaky",
        "/api/scalars?run=train%2F2026-11-28_05-15-13_aaaaaa%00",
    ] {
        let (status, body) = ui.get(target);
        assert!((400..500).contains(&status), "{target}: {status} {body}");
        assert!(
            !body.contains("SECRET") && !body.contains("root:"),
            "{target}: {body}"
        );
    }
    // The listing names the linked run as not served, and shows none of it.
    let (_, runs) = ui.get("/api/runs");
    assert!(!runs.contains("SECRET"), "{runs}");
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    let listed: Vec<_> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "2026-11-28_05-15-13_aaaaaa",
            "2026-11-28_05-15-14_sneaky",
            "2026-11-28_05-15-15_params"
        ]
    );
    let reason = |id: &str| {
        runs["damaged"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["path"].as_str().unwrap().ends_with(id))
            .map(|d| d["reason"].as_str().unwrap().to_owned())
    };
    assert!(
        reason("2026-11-28_05-15-16_info").is_some_and(|r| r.starts_with("cannot read run.json: ")),
        "{runs}"
    );
    assert!(
        runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["experiment"] != "secret"),
        "{runs}"
    );
    let linked = runs["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"].as_str().unwrap().contains("linked"))
        .unwrap_or_else(|| panic!("{runs}"));
    assert_eq!(
        linked["reason"],
        "links outside the output directory: not served"
    );
}

#[test]
fn bad_options_and_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["ui", tmp.path().to_str().unwrap(), "--bind", "localhost:80"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("'localhost:80' for '--bind <ADDR>'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing = tmp.path().join("nope");
    let out = Command::new(BIN)
        .args(["ui", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: cannot access '{}'", missing.display())),
        "{err}"
    );
    // A port already taken is named.
    let ui = Ui::start(tmp.path());
    let out = Command::new(BIN)
        .args([
            "ui",
            tmp.path().to_str().unwrap(),
            "--port",
            &ui.port.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("error: cannot listen on 127.0.0.1:{}: ", ui.port)),
        "{err}"
    );
}
