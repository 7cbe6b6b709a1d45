//! `rystematic ui`: the dashboard page served live, with the JSON it polls.
//!
//! Read-only and narrow on purpose: the only routes are the page,
//! `/api/runs` (the `ls --json` document), `/api/sweeps` and
//! `/api/scalars?run=EXPERIMENT/RUN_ID`. No URL is ever mapped onto the file
//! system: a run is named by two plain path components that must be a run
//! directory whose real path lies under the output directory, so `..`,
//! absolute paths and symlinks out of it lead nowhere. Methods other than
//! GET and HEAD get 405.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rystematic::files::RUN_INFO_FILE;
use serde_json::{Value, json};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::error::RunsError;
use crate::ls::{self, LsOptions};
use crate::scalars::{self, SCALARS_FILE};
use crate::scan::{self, ReadOptions, Scan};
use crate::web::{self, PageData};

/// The most points per tag sent for one run: more than a chart can show.
const MAX_POINTS: usize = 5000;

/// Requests handled at once (each may read many run directories).
const WORKERS: usize = 4;

/// A bound dashboard server; [`Dashboard::run`] serves it.
pub struct Dashboard {
    server: Arc<Server>,
    output: PathBuf,
    /// `output` with symlinks resolved: what every served file must lie under.
    real_output: PathBuf,
    addr: SocketAddr,
    page: String,
}

impl Dashboard {
    /// Binds `bind:port` (port 0: any free port) to serve the runs under
    /// `output`.
    pub fn bind(output: &Path, bind: IpAddr, port: u16) -> Result<Dashboard, RunsError> {
        let real_output = output.canonicalize().map_err(RunsError::io(output))?;
        if !real_output.is_dir() {
            return Err(RunsError::Io {
                path: output.to_owned(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        let want = SocketAddr::new(bind, port);
        let server = Server::http(want).map_err(|e| RunsError::Bind {
            addr: want,
            source: io::Error::other(e.to_string()),
        })?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| RunsError::Bind {
                addr: want,
                source: io::Error::other("not an IP socket"),
            })?;
        let page = web::page(PageData {
            source: &output.display().to_string(),
            live: true,
            ls: None,
            scalar_lines: String::new(),
        });
        Ok(Dashboard {
            server: Arc::new(server),
            output: output.to_owned(),
            real_output,
            addr,
            page,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Serves requests until the process ends.
    pub fn run(self) {
        let this = Arc::new(self);
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let this = Arc::clone(&this);
                std::thread::spawn(move || {
                    while let Ok(request) = this.server.recv() {
                        this.handle(request);
                    }
                })
            })
            .collect();
        for worker in workers {
            // A worker only ends when the server does.
            let _ = worker.join();
        }
    }

    fn handle(&self, request: Request) {
        let reply = if !matches!(request.method(), Method::Get | Method::Head) {
            Reply::status(405, "read-only: only GET and HEAD").header("Allow", "GET, HEAD")
        } else if !self.host_allowed(&request) {
            // A page elsewhere that rebinds its own name to 127.0.0.1 must not
            // read the runs.
            Reply::status(403, "unexpected Host header")
        } else {
            self.route(request.url())
        };
        // A client that went away is not our problem.
        let _ = request.respond(reply.into_response());
    }

    fn host_allowed(&self, request: &Request) -> bool {
        if !self.addr.ip().is_loopback() {
            return true;
        }
        let Some(host) = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Host"))
            .map(|h| h.value.as_str())
        else {
            return true;
        };
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name == self.addr.ip().to_string()
    }

    fn route(&self, url: &str) -> Reply {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        match path {
            "/" | "/index.html" => Reply::ok("text/html; charset=utf-8", self.page.clone()),
            "/api/runs" => self.runs(),
            "/api/sweeps" => self.sweeps(),
            "/api/scalars" => match query_value(query, "run") {
                Some(Ok(run)) => self.scalars(&run),
                Some(Err(())) => Reply::status(400, "malformed query"),
                None => Reply::status(400, "missing run=EXPERIMENT/RUN_ID"),
            },
            _ => Reply::status(404, "not found"),
        }
    }

    fn scan(&self, options: ReadOptions) -> Result<Scan, Reply> {
        scan::scan(&self.output, options)
            .map_err(|e| Reply::status(500, &format!("cannot read the output directory: {e}")))
    }

    fn runs(&self) -> Reply {
        let mut scan = match self.scan(ReadOptions {
            follow_symlinks: false,
            ..ReadOptions::default()
        }) {
            Ok(scan) => scan,
            Err(reply) => return reply,
        };
        self.drop_outsiders(&mut scan);
        let options = LsOptions::default();
        let doc = match ls::select(&scan, &options) {
            Ok(listing) => {
                ls::document(&self.output, &listing, &ls::extras(&scan, &options.filter))
            }
            Err(e) => return Reply::status(500, &e.to_string()),
        };
        Reply::json(&doc)
    }

    /// Runs whose directory lies outside the output directory (through a
    /// symlink) are not served: they are listed as damaged instead.
    fn drop_outsiders(&self, scan: &mut Scan) {
        let runs = std::mem::take(&mut scan.runs);
        // Resolving every run's path costs a system call per component;
        // the experiment folders (few) are resolved once, and a run whose
        // own directory is no symlink lies where its folder does.
        let mut folders: BTreeMap<&Path, bool> = BTreeMap::new();
        for run in &runs {
            if let Some(folder) = run.dir.parent() {
                folders
                    .entry(folder)
                    .or_insert_with(|| self.real_inside(folder).is_some());
            }
        }
        let inside = scan::par_map(&runs, |run| {
            let plain_dir =
                fs::symlink_metadata(&run.dir).is_ok_and(|m| !m.file_type().is_symlink());
            let folder_inside = run.dir.parent().and_then(|f| folders.get(f)) == Some(&true);
            (plain_dir && folder_inside) || self.real_inside(&run.dir).is_some()
        });
        for (run, inside) in runs.into_iter().zip(inside) {
            if inside {
                scan.runs.push(run);
            } else {
                scan.damaged.push((
                    run.dir,
                    "links outside the output directory: not served".into(),
                ));
            }
        }
    }

    fn sweeps(&self) -> Reply {
        let sweeps_dir = self.output.join("sweeps");
        let mut sweeps = Vec::new();
        // Only the sweeps folder: polled often, it must stay cheap.
        if sweeps_dir.is_dir() {
            match scan::scan(&sweeps_dir, ReadOptions::default()) {
                Ok(found) => {
                    // Under `sweeps/` the layout is one level shallower:
                    // `<experiment>/<stamp>` are read as runs would be.
                    sweeps.extend(found.sweeps.iter().map(ls::sweep_json));
                }
                Err(e) => return Reply::status(500, &e.to_string()),
            }
        }
        Reply::json(&Value::Array(sweeps))
    }

    fn scalars(&self, run: &str) -> Reply {
        let not_found = || Reply::status(404, "no such run");
        let mut parts = run.split('/');
        let (Some(experiment), Some(id), None) = (parts.next(), parts.next(), parts.next()) else {
            return not_found();
        };
        let plain =
            |part: &str| !part.is_empty() && !part.starts_with('.') && !part.contains(['\\', '\0']);
        if !plain(experiment) || !plain(id) {
            return not_found();
        }
        let dir = self.output.join(experiment).join(id);
        let Some(real_dir) = self.real_inside(&dir) else {
            return not_found();
        };
        if !real_dir.join(RUN_INFO_FILE).is_file() {
            return not_found();
        }
        let file = real_dir.join(SCALARS_FILE);
        // scalars.csv itself may be a symlink too.
        let file = match file.canonicalize() {
            Ok(real) if real.starts_with(&self.real_output) => real,
            Ok(_) => return not_found(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Reply::json(&json!({})),
            Err(e) => return Reply::status(500, &format!("cannot read scalars: {e}")),
        };
        match scalars::series(&file, MAX_POINTS) {
            Ok(series) => Reply::json(&json!(series)),
            Err(e) => Reply::status(500, &format!("cannot read scalars: {e}")),
        }
    }

    /// `dir`'s real path, if it exists and lies under the output directory.
    fn real_inside(&self, dir: &Path) -> Option<PathBuf> {
        dir.canonicalize()
            .ok()
            .filter(|real| real.starts_with(&self.real_output))
    }
}

/// The percent-decoded value of `name` in a query string (`Err` when it
/// does not decode to UTF-8).
fn query_value(query: &str, name: &str) -> Option<Result<String, ()>> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_decode(value))
}

fn percent_decode(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(())?;
                let hex = std::str::from_utf8(hex).map_err(|_| ())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// A response being built.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, &'static str)>,
}

impl Reply {
    fn ok(content_type: &'static str, body: String) -> Reply {
        Reply {
            status: 200,
            content_type,
            body: body.into_bytes(),
            headers: Vec::new(),
        }
    }

    fn json(value: &Value) -> Reply {
        Reply::ok("application/json", value.to_string())
    }

    fn status(status: u16, message: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{status}: {message}\n").into_bytes(),
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Reply {
        self.headers.push((name, value));
        self
    }

    fn into_response(self) -> Response<io::Cursor<Vec<u8>>> {
        let mut response = Response::from_data(self.body).with_status_code(self.status);
        let headers = [
            ("Content-Type", self.content_type),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ];
        for (name, value) in headers.into_iter().chain(self.headers) {
            // Our own constant names and values always parse.
            if let Ok(header) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
                response.add_header(header);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_decode() {
        assert_eq!(
            query_value("a=1&run=exp%2F2026_x+y", "run"),
            Some(Ok("exp/2026_x y".into()))
        );
        assert_eq!(query_value("run=%2e%2e%2F", "run"), Some(Ok("../".into())));
        assert_eq!(query_value("run=%zz", "run"), Some(Err(())));
        assert_eq!(query_value("run=%ff", "run"), Some(Err(())));
        assert_eq!(query_value("other=1", "run"), None);
    }
}
