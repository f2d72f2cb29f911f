//! Serving a static site folder on the loopback interface, so the page can be opened in a browser
//! exactly as a static host would deliver it: files only, no server logic, correct MIME types (browsers
//! refuse to compile `.wasm` served as anything but `application/wasm`), and the precompressed
//! `.br` / `.gz` sibling of a file to a browser whose `Accept-Encoding` takes it, as a static host
//! configured for them does.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use tiny_http::{Header, Request, Response, Server};

use super::precompress::Encoding;

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
                Some(path) => {
                    let (file, encoding) = negotiate(&path, &accepted(&request));
                    match fs::read(&file) {
                        Ok(body) => {
                            let mut response = Response::from_data(body)
                                .with_header(header("Content-Type", mime_type(&path)))
                                // A static host may cache; a developer rebuilding pkg/ must not be fooled.
                                .with_header(header("Cache-Control", "no-cache"))
                                .with_header(header("Vary", "Accept-Encoding"));
                            if let Some(encoding) = encoding {
                                response = response
                                    .with_header(header("Content-Encoding", encoding.token()));
                            }
                            response
                        }
                        Err(_) => not_found(),
                    }
                }
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

/// The content codings a request accepts (`Accept-Encoding`, without those refused by `q=0`).
fn accepted(request: &Request) -> Vec<String> {
    request
        .headers()
        .iter()
        .filter(|h| h.field.equiv("Accept-Encoding"))
        .flat_map(|h| h.value.as_str().split(','))
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let token = parts.next()?.to_ascii_lowercase();
            let quality = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (!token.is_empty() && quality > 0.0).then_some(token)
        })
        .collect()
}

/// The file to send for `path`: its best precompressed sibling the client accepts, else itself.
/// A sibling older than its file is stale (the file was edited after `photolink site`) and is
/// never sent.
fn negotiate(path: &Path, accepted: &[String]) -> (PathBuf, Option<Encoding>) {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    for encoding in Encoding::ALL {
        let sibling = encoding.sibling(path);
        if accepted.iter().any(|a| a == encoding.token())
            && sibling.is_file()
            && modified(&sibling) >= modified(path)
        {
            return (sibling, Some(encoding));
        }
    }
    (path.to_path_buf(), None)
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

        // A precompressed sibling goes to a client that accepts its coding, brotli first.
        let wasm = root.join("pkg/a.wasm");
        fs::write(Encoding::Gzip.sibling(&wasm), b"gz").unwrap();
        let accepts = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(negotiate(&wasm, &accepts(&[])), (wasm.clone(), None));
        assert_eq!(
            negotiate(&wasm, &accepts(&["gzip", "br"])),
            (Encoding::Gzip.sibling(&wasm), Some(Encoding::Gzip))
        );
        fs::write(Encoding::Brotli.sibling(&wasm), b"br").unwrap();
        assert_eq!(
            negotiate(&wasm, &accepts(&["gzip", "br"])),
            (Encoding::Brotli.sibling(&wasm), Some(Encoding::Brotli))
        );
        assert_eq!(
            negotiate(&wasm, &accepts(&["deflate"])),
            (wasm.clone(), None)
        );
        // Edited after its siblings were written: they are stale, the file itself goes.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&wasm, [0u8, 97, 115, 109, 1]).unwrap();
        assert_eq!(
            negotiate(&wasm, &accepts(&["gzip", "br"])),
            (wasm.clone(), None)
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
