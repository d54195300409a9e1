//! `http_server [flags] [--port 8080] [--root DIR]`: an HTTP/1.1 server (hyper 1.x) on the
//! stack, one task per connection, keep-alive on, one line per request on stderr.
//!
//! - `GET /bytes/N` streams `N` bytes of the fixed pattern, byte `i` = `(i % 251) as u8` (see
//!   `examples/pattern/mod.rs`), in 64 KiB chunks borrowed from a static table: 1 GiB costs no
//!   more memory than 1 KiB.
//! - Any other path is a file under `DIR` (`index.html` for a directory), with a
//!   `Content-Type` guessed from its extension. `..` components are refused (403), and so are
//!   symbolic links that lead out of `DIR`; a missing file is 404, and so is every file without
//!   `--root`.
//! - `HEAD` answers the same headers without the body; other methods get 405.
//!
//! The flags are the TUN flags of every example (`--tun`, `--addr`, `--host`, `--mtu`, `--pcap`,
//! `-v`, see `examples/common/mod.rs`).
//!
//! ```sh
//! sudo ip netns add tcpstk-demo
//! sudo ip netns exec tcpstk-demo cargo run --release --example http_server -- --root docs
//! # in another shell:
//! sudo ip netns exec tcpstk-demo curl -s http://10.200.0.2:8080/bytes/10000000 | sha256sum
//! sudo ip netns exec tcpstk-demo curl -s http://10.200.0.2:8080/PERFORMANCE.md
//! ```

mod common;
mod pattern;

use std::convert::Infallible;
use std::ffi::OsStr;
use std::io;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use net::{TcpListener, TcpStream};
use tokio::io::{AsyncRead, ReadBuf};

const USAGE: &str = "usage: http_server [--tun NAME --addr IP --host IP/PREFIX --mtu N --pcap FILE -v] \
                     [--port P] [--root DIR]";

/// Bytes a file body reads per frame.
const FILE_CHUNK: usize = 64 * 1024;

/// Every response body: whole, streamed from the pattern, or streamed from a file.
type ResponseBody = BoxBody<Bytes, io::Error>;

/// This example's own arguments.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    port: u16,
    root: Option<PathBuf>,
}

/// Parses the arguments left after the TUN flags.
fn parse_args(rest: &[String]) -> Result<Args, String> {
    let mut args = Args {
        port: 8080,
        root: None,
    };
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| USAGE.to_owned());
        match flag.as_str() {
            "--port" => args.port = value?.parse().map_err(|e| format!("--port: {e}"))?,
            "--root" => args.root = Some(PathBuf::from(value?)),
            _ => return Err(USAGE.to_owned()),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let (flags, rest) = common::parse_args(std::env::args().skip(1));
    let args = parse_args(&rest).unwrap_or_else(|e| common::fail(&e));
    common::init_tracing(flags.verbose);
    let root = args.root.as_deref().map(|dir| {
        let root = std::fs::canonicalize(dir)
            .unwrap_or_else(|e| common::fail(&format!("--root {}: {e}", dir.display())));
        if !root.is_dir() {
            common::fail(&format!("--root {}: not a directory", dir.display()));
        }
        Arc::<Path>::from(root)
    });
    let device = common::tun_device(&flags).unwrap_or_else(|e| common::fail(&e.to_string()));
    let stack = common::stack(&flags, device, fsm::Config::default())
        .unwrap_or_else(|e| common::fail(&e.to_string()));
    let listener = TcpListener::bind(&stack, SocketAddr::new(flags.addr, args.port))
        .await
        .unwrap_or_else(|e| common::fail(&format!("bind: {e}")));
    let served = root
        .as_deref()
        .map_or("no files".into(), |r| r.display().to_string());
    eprintln!(
        "http_server: listening on http://{}:{}/ (TUN {}), serving {served}",
        flags.addr, args.port, flags.tun
    );
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(serve_connection(stream, peer, root.clone()));
                }
                Err(e) => common::fail(&format!("accept: {e}")),
            },
            _ = tokio::signal::ctrl_c() => return,
        }
    }
}

/// Serves one connection's requests until the client closes it.
async fn serve_connection(stream: TcpStream, peer: SocketAddr, root: Option<Arc<Path>>) {
    // Responses are written whole; Nagle would only hold back the last segment of each.
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("http_server: {peer}: {e}");
        return;
    }
    let service = service_fn(move |request| respond(request, peer, root.clone()));
    let served = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = served {
        eprintln!("http_server: {peer}: connection ended: {}", error_chain(&e));
    }
}

/// An error and its sources on one line: hyper's own message is generic ("connection error"),
/// the I/O error under it says what happened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// Answers one request and logs it.
async fn respond(
    request: Request<Incoming>,
    peer: SocketAddr,
    root: Option<Arc<Path>>,
) -> Result<Response<ResponseBody>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    drop(request);
    let head = method == Method::HEAD;
    let response = match (route(&method, &path), root) {
        (Route::Pattern(len), _) => pattern_response(len, head),
        (Route::File(rel), Some(root)) => file_response(&root, &rel, head).await,
        (Route::File(_), None) => error_response(StatusCode::NOT_FOUND, head),
        (Route::Refuse(status), _) => error_response(status, head),
    };
    let len = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    eprintln!(
        "http_server: {peer} \"{method} {path}\" {} {len}",
        response.status().as_u16()
    );
    Ok(response)
}

/// What a request asks for, decided from its method and path alone.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `/bytes/N`: `N` bytes of the pattern.
    Pattern(u64),
    /// A file, by its path relative to the root (components checked: no `..`).
    File(PathBuf),
    /// An error answer.
    Refuse(StatusCode),
}

fn route(method: &Method, path: &str) -> Route {
    if method != Method::GET && method != Method::HEAD {
        return Route::Refuse(StatusCode::METHOD_NOT_ALLOWED);
    }
    if let Some(count) = path.strip_prefix("/bytes/") {
        return parse_count(count).map_or(Route::Refuse(StatusCode::BAD_REQUEST), Route::Pattern);
    }
    relative_path(path).map_or_else(Route::Refuse, Route::File)
}

/// A byte count: decimal digits only (no sign, no spaces), fitting a `u64`.
fn parse_count(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The request path as a path relative to the root: percent-decoded, empty and `.`
/// components dropped. `..` anywhere is 403 (even where it would stay inside the root: a client
/// has no business sending it), a NUL byte or a malformed `%` escape 400.
fn relative_path(path: &str) -> Result<PathBuf, StatusCode> {
    let decoded = percent_decode(path).ok_or(StatusCode::BAD_REQUEST)?;
    let mut relative = PathBuf::new();
    for component in decoded.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err(StatusCode::FORBIDDEN),
            c if c.contains(&0) => return Err(StatusCode::BAD_REQUEST),
            c => relative.push(OsStr::from_bytes(c)),
        }
    }
    Ok(relative)
}

/// Decodes `%XX` escapes; `None` for a `%` not followed by two hex digits.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = hex_digit(*bytes.get(i + 1)?)?;
            let lo = hex_digit(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The `Content-Type` of a file, from its extension; `application/octet-stream` when unknown.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("txt" | "md" | "rs" | "toml") => "text/plain; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// A response with the headers every answer carries; `body` is dropped for `HEAD`.
fn response(
    status: StatusCode,
    content_type: &'static str,
    len: u64,
    body: ResponseBody,
    head: bool,
) -> Response<ResponseBody> {
    let body = if head {
        Empty::new().map_err(|never| match never {}).boxed()
    } else {
        body
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(SERVER, HeaderValue::from_static("tcpstk-http_server"));
    response
}

fn error_response(status: StatusCode, head: bool) -> Response<ResponseBody> {
    let text = format!("{status}\n");
    let len = text.len() as u64;
    let body = Full::new(Bytes::from(text))
        .map_err(|never| match never {})
        .boxed();
    let mut response = response(status, "text/plain; charset=utf-8", len, body, head);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = HeaderValue::from_static("GET, HEAD");
        response.headers_mut().insert(ALLOW, allow);
    }
    response
}

fn pattern_response(len: u64, head: bool) -> Response<ResponseBody> {
    let body = PatternBody { next: 0, end: len }
        .map_err(|never| match never {})
        .boxed();
    response(StatusCode::OK, "application/octet-stream", len, body, head)
}

async fn file_response(root: &Path, relative: &Path, head: bool) -> Response<ResponseBody> {
    let path = match locate(root, relative).await {
        Ok(path) => path,
        Err(status) => return error_response(status, head),
    };
    let opened = async {
        let file = tokio::fs::File::open(&path).await?;
        let len = file.metadata().await?.len();
        io::Result::Ok((file, len))
    };
    match opened.await {
        Ok((file, len)) => {
            let body = FileBody {
                file,
                left: len,
                buf: vec![0; FILE_CHUNK].into_boxed_slice(),
            };
            response(StatusCode::OK, content_type(&path), len, body.boxed(), head)
        }
        Err(e) => error_response(io_status(&e), head),
    }
}

/// The regular file `relative` names under `root` (its `index.html` for a directory), after
/// symbolic links are resolved; 403 when they lead out of `root`.
async fn locate(root: &Path, relative: &Path) -> Result<PathBuf, StatusCode> {
    let mut path = canonical_under(root, &root.join(relative)).await?;
    if tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_dir()) {
        path = canonical_under(root, &path.join("index.html")).await?;
    }
    match tokio::fs::metadata(&path).await {
        Ok(meta) if meta.is_file() => Ok(path),
        Ok(_) => Err(StatusCode::NOT_FOUND),
        Err(e) => Err(io_status(&e)),
    }
}

async fn canonical_under(root: &Path, path: &Path) -> Result<PathBuf, StatusCode> {
    let path = tokio::fs::canonicalize(path)
        .await
        .map_err(|e| io_status(&e))?;
    if path.starts_with(root) {
        Ok(path)
    } else {
        Err(StatusCode::FORBIDDEN)
    }
}

fn io_status(e: &io::Error) -> StatusCode {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => StatusCode::NOT_FOUND,
        io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The pattern's bytes `next..end`, one [`pattern::CHUNK`] per frame, borrowed from the static
/// table.
struct PatternBody {
    next: u64,
    end: u64,
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let left = self.end - self.next;
        if left == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(left).unwrap_or(usize::MAX);
        let chunk = pattern::chunk(self.next, want);
        self.next += chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.next == self.end
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.end - self.next)
    }
}

/// A file's `left` bytes, read one buffer per frame.
struct FileBody {
    file: tokio::fs::File,
    left: u64,
    buf: Box<[u8]>,
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.left).map_or(this.buf.len(), |l| l.min(this.buf.len()));
        let mut buf = ReadBuf::new(&mut this.buf[..want]);
        ready!(Pin::new(&mut this.file).poll_read(cx, &mut buf))?;
        let read = buf.filled();
        if read.is_empty() {
            let e = io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while served");
            return Poll::Ready(Some(Err(e)));
        }
        this.left -= read.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(read)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments_default_and_parse() {
        assert_eq!(
            args(&[]),
            Ok(Args {
                port: 8080,
                root: None
            })
        );
        assert_eq!(
            args(&["--root", "/srv", "--port", "80"]),
            Ok(Args {
                port: 80,
                root: Some("/srv".into())
            })
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(args(&["--port"]).is_err());
        assert!(args(&["--port", "65536"]).is_err());
        assert!(args(&["--port", "x"]).is_err());
        assert!(args(&["--root"]).is_err());
        assert!(args(&["--verbose"]).is_err());
    }

    #[test]
    fn bytes_route_takes_decimal_counts_only() {
        assert_eq!(route(&Method::GET, "/bytes/0"), Route::Pattern(0));
        assert_eq!(route(&Method::HEAD, "/bytes/1000"), Route::Pattern(1000));
        assert_eq!(
            route(&Method::GET, "/bytes/18446744073709551615"),
            Route::Pattern(u64::MAX)
        );
        for bad in [
            "/bytes/",
            "/bytes/-1",
            "/bytes/+1",
            "/bytes/1e6",
            "/bytes/ 1",
            "/bytes/18446744073709551616",
            "/bytes/1/2",
        ] {
            assert_eq!(
                route(&Method::GET, bad),
                Route::Refuse(StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_methods_are_refused() {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            assert_eq!(
                route(&method, "/bytes/1"),
                Route::Refuse(StatusCode::METHOD_NOT_ALLOWED)
            );
        }
    }

    #[test]
    fn file_paths_are_relative_and_decoded() {
        assert_eq!(route(&Method::GET, "/"), Route::File(PathBuf::new()));
        assert_eq!(
            route(&Method::GET, "//a/./b%20c/d.txt"),
            Route::File("a/b c/d.txt".into())
        );
        assert_eq!(
            route(&Method::GET, "/bytes"),
            Route::File("bytes".into()),
            "only /bytes/N is the pattern"
        );
    }

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "/..",
            "/../etc/passwd",
            "/a/../../b",
            "/a/..",
            "/%2e%2e/x",
            "/%2E./x",
            "/a%2f..%2fb",
        ] {
            assert_eq!(
                route(&Method::GET, bad),
                Route::Refuse(StatusCode::FORBIDDEN),
                "{bad}"
            );
        }
        // Not traversal: names that merely contain dots.
        assert_eq!(
            route(&Method::GET, "/..a/b.."),
            Route::File("..a/b..".into())
        );
    }

    #[test]
    fn malformed_paths_are_bad_requests() {
        for bad in ["/a%00b", "/%", "/%4", "/%zz", "/%+f"] {
            assert_eq!(
                route(&Method::GET, bad),
                Route::Refuse(StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn error_chain_names_every_cause() {
        assert_eq!(error_chain(&io::Error::other("alone")), "alone");
        #[derive(Debug)]
        struct Wrap(io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connection error")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped = Wrap(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        assert_eq!(error_chain(&wrapped), "connection error: reset");
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type(Path::new("a/INDEX.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x.png")), "image/png");
        assert_eq!(
            content_type(Path::new("Makefile")),
            "application/octet-stream"
        );
    }

    #[tokio::test]
    async fn pattern_body_streams_the_pattern_in_chunks() {
        let len = 3 * pattern::CHUNK as u64 + 5;
        let mut body = PatternBody { next: 0, end: len };
        assert_eq!(body.size_hint().exact(), Some(len));
        let mut frames = 0;
        let mut got = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            assert!(data.len() <= pattern::CHUNK);
            got.extend_from_slice(&data);
            frames += 1;
        }
        assert_eq!(frames, 4);
        let want: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        assert_eq!(got, want);
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn files_resolve_under_the_root_only() {
        let base = std::env::temp_dir().join(format!("tcpstk-http-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::write(root.join("a.txt"), b"a").unwrap();
        std::fs::write(root.join("dir/index.html"), b"i").unwrap();
        std::fs::write(base.join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), root.join("link")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();

        assert_eq!(
            locate(&root, Path::new("a.txt")).await,
            Ok(root.join("a.txt"))
        );
        assert_eq!(
            locate(&root, Path::new("dir")).await,
            Ok(root.join("dir/index.html"))
        );
        assert_eq!(
            locate(&root, Path::new("")).await,
            Err(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            locate(&root, Path::new("missing")).await,
            Err(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            locate(&root, Path::new("a.txt/x")).await,
            Err(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            locate(&root, Path::new("link")).await,
            Err(StatusCode::FORBIDDEN)
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
