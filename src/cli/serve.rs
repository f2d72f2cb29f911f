//! Serving a static site folder on the loopback interface, so the page can be opened in a browser
//! exactly as a static host would deliver it: files only, no server logic, correct MIME types (browsers
//! refuse to compile `.wasm` served as anything but `application/wasm`), and the precompressed
//! `.br` / `.gz` sibling of a file to a browser whose `Accept-Encoding` takes it, as a static host
//! configured for them does.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::precompress::Encoding;

/// `photolink serve`: serves `dir` on `127.0.0.1:port` until the process is stopped.
pub fn run(dir: &Path, port: u16) -> Result<()> {
    let server = StaticServer::bind(dir, port)?;
    println!("photolink: serving {} at {}", dir.display(), server.url());
    println!("photolink: press Ctrl-C to stop");
    server.run();
    Ok(())
}

/// A running static server: one thread and one request per connection.
///
/// Why not tiny_http, which served before: its connection pool (0.12, the newest) can leave a new
/// connection queued until an older keep-alive one closes, so a page fetching a photo's 8
/// partition files at once waited for ever on a loaded machine (`tests/e2e/partitions.test.mjs`).
/// Answering each connection once, on its own thread, and closing it has no such queue.
pub struct StaticServer {
    listener: TcpListener,
    root: Arc<PathBuf>,
}

/// The largest request head read (request line and headers): a browser's are a few KB.
const MAX_HEAD_BYTES: usize = 64 * 1024;

impl StaticServer {
    /// Binds `127.0.0.1:port` (0 picks a free port) over the folder `root`.
    pub fn bind(root: &Path, port: u16) -> Result<Self> {
        let root = root
            .canonicalize()
            .with_context(|| format!("site folder {} does not exist", root.display()))?;
        if !root.join("index.html").is_file() {
            bail!("{} has no index.html: is it a site folder?", root.display());
        }
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        Ok(Self {
            listener,
            root: Arc::new(root),
        })
    }

    /// The URL of the page.
    pub fn url(&self) -> String {
        match self.listener.local_addr() {
            Ok(addr) => format!("http://{addr}/"),
            Err(_) => "http://127.0.0.1/".into(),
        }
    }

    /// Answers connections until the process ends.
    pub fn run(self) {
        for stream in self.listener.incoming().flatten() {
            let root = self.root.clone();
            // A client that hangs up or sends garbage is its own business.
            std::thread::spawn(move || answer(&root, stream).ok());
        }
    }
}

/// What a request asks for.
struct Asked {
    head_only: bool,
    target: String,
    accepted: Vec<String>,
}

/// Reads one request head from `stream`; `Err` with the status to answer when it is not one.
fn read_request(stream: &mut TcpStream) -> std::io::Result<Result<Asked, (u16, &'static str)>> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(Err((400, "Bad Request")));
        }
        head.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                let method = request.method.unwrap_or("");
                if method != "GET" && method != "HEAD" {
                    return Ok(Err((405, "Method Not Allowed")));
                }
                let encodings = request
                    .headers
                    .iter()
                    .filter(|h| h.name.eq_ignore_ascii_case("Accept-Encoding"))
                    .filter_map(|h| std::str::from_utf8(h.value).ok());
                return Ok(Ok(Asked {
                    head_only: method == "HEAD",
                    target: request.path.unwrap_or("/").to_string(),
                    accepted: accepted(encodings),
                }));
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD_BYTES => {}
            _ => return Ok(Err((400, "Bad Request"))),
        }
    }
}

/// Answers the one request of `stream` with the file it names under `root` (or an error status)
/// and closes the connection.
fn answer(root: &Path, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let asked = match read_request(&mut stream)? {
        Ok(asked) => asked,
        Err((status, reason)) => return respond(&mut stream, status, reason, &[], b"", false),
    };
    let found = resolve(root, &asked.target).and_then(|path| {
        let (file, encoding) = negotiate(&path, &asked.accepted);
        fs::read(&file).ok().map(|body| (path, encoding, body))
    });
    let Some((path, encoding, body)) = found else {
        return respond(
            &mut stream,
            404,
            "Not Found",
            &[],
            b"not found",
            asked.head_only,
        );
    };
    let mut headers = vec![
        ("Content-Type", mime_type(&path)),
        // A static host may cache; a developer rebuilding pkg/ must not be fooled.
        ("Cache-Control", "no-cache"),
        ("Vary", "Accept-Encoding"),
    ];
    if let Some(encoding) = encoding {
        headers.push(("Content-Encoding", encoding.token()));
    }
    respond(&mut stream, 200, "OK", &headers, &body, asked.head_only)
}

/// Writes a whole HTTP/1.1 response that ends the connection.
fn respond(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += "\r\n";
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body)?;
    }
    stream.flush()
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

/// The content codings of `Accept-Encoding` values, without those refused by `q=0`.
fn accepted<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values
        .flat_map(|value| value.split(','))
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
        assert_eq!(
            accepted(["gzip, deflate;q=0, br;q=0.5", "ZSTD"].into_iter()),
            ["gzip", "br", "zstd"]
        );

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
