//! Serving a static site folder on the loopback interface, so the page can be opened in a browser
//! exactly as a static host would deliver it: files only, no server logic, correct MIME types (browsers
//! refuse to compile `.wasm` served as anything but `application/wasm`).

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use tiny_http::{Header, Response, Server};

/// `photolink serve`: serves `dir` on `127.0.0.1:port` until the process is stopped.
pub fn run(dir: &Path, port: u16) -> Result<()> {
    let server = StaticServer::bind(dir, port)?;
    println!("photolink: serving {} at {}", dir.display(), server.url());
    println!("photolink: press Ctrl-C to stop");
    server.run();
    Ok(())
}

/// A running static server.
pub struct StaticServer {
    server: Server,
    root: PathBuf,
}

impl StaticServer {
    /// Binds `127.0.0.1:port` (0 picks a free port) over the folder `root`.
    pub fn bind(root: &Path, port: u16) -> Result<Self> {
        let root = root
            .canonicalize()
            .with_context(|| format!("site folder {} does not exist", root.display()))?;
        if !root.join("index.html").is_file() {
            bail!("{} has no index.html: is it a site folder?", root.display());
        }
        let server = Server::http(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        Ok(Self { server, root })
    }

    /// The URL of the page.
    pub fn url(&self) -> String {
        match self.server.server_addr().to_ip() {
            Some(addr) => format!("http://{addr}/"),
            None => "http://127.0.0.1/".into(),
        }
    }

    /// Answers requests until the process ends.
    pub fn run(self) {
        for request in self.server.incoming_requests() {
            let response = match resolve(&self.root, request.url()) {
                Some(path) => match fs::read(&path) {
                    Ok(body) => Response::from_data(body)
                        .with_header(header("Content-Type", mime_type(&path)))
                        // A static host may cache; a developer rebuilding pkg/ must not be fooled.
                        .with_header(header("Cache-Control", "no-cache")),
                    Err(_) => not_found(),
                },
                None => not_found(),
            };
            // A client that hung up is its own business.
            let _ = request.respond(response);
        }
    }
}

/// Maps a request path onto a file under `root`; `None` for anything outside it or missing.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let mut file = root.to_path_buf();
    for part in Path::new(path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(name) => file.push(name),
            Component::CurDir => {}
            // `..`, absolute or prefixed components never leave the site folder.
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn mime_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "ts" | "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid ASCII")
}

fn not_found() -> Response<std::io::Cursor<Vec<u8>>> {
    Response::from_string("not found").with_status_code(404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_never_leave_the_site_folder() {
        let dir = std::env::temp_dir().join(format!("photolink-serve-{}", std::process::id()));
        fs::create_dir_all(dir.join("pkg")).unwrap();
        fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        fs::write(dir.join("pkg/a.wasm"), [0u8, 97, 115, 109]).unwrap();
        let root = dir.canonicalize().unwrap();

        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(&root, "/pkg/a.wasm?v=1"),
            Some(root.join("pkg/a.wasm"))
        );
        assert_eq!(resolve(&root, "/../etc/passwd"), None);
        assert_eq!(resolve(&root, "/pkg/../../x"), None);
        assert_eq!(resolve(&root, "/missing.js"), None);
        assert_eq!(mime_type(Path::new("x.wasm")), "application/wasm");
        fs::remove_dir_all(&dir).unwrap();
    }
}
