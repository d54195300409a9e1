//! A small HTTP/1.1 server on kernel sockets, for the tests that fetch with the `http_get`
//! example: a few fixed pages whose bodies the tests know byte for byte.
//!
//! - `/small`: [`SMALL`], with `Content-Length`;
//! - `/big`: [`BIG_LEN`] bytes of the data stream of [`BIG_SEED`], with `Content-Length`,
//!   streamed (never held in memory whole);
//! - `/chunked`: [`chunked_body`], sent with `Transfer-Encoding: chunked` in chunks of 1 byte to
//!   100 KB, one with a chunk extension, and a trailer field;
//! - anything else: 404, with [`not_found_body`].
//!
//! Every response says `Connection: close`; the server then closes its side and waits for the
//! client's FIN before dropping the socket (so that nothing unread turns the close into a RST).
//!
//! Include it with `#[path = "common/http.rs"] mod http;` beside `data`.
#![allow(
    dead_code,
    reason = "each test file uses the part of this module it needs"
)]

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::data;

/// The body of `/small`.
pub const SMALL: &[u8] = b"hello from the kernel's side of the TUN\n";
/// The length of `/big`.
pub const BIG_LEN: u64 = 64 * 1024 * 1024;
/// The data stream `/big` sends.
pub const BIG_SEED: u64 = 64;
/// The seed of `/chunked`'s bytes.
const CHUNKED_SEED: u64 = 99;
/// The sizes of `/chunked`'s chunks, in order (then the zero-size last chunk).
const CHUNK_SIZES: [usize; 9] = [1, 2, 3, 100, 1000, 10_000, 100_000, 65_536, 7];

/// The body `/chunked` decodes to.
pub fn chunked_body() -> Vec<u8> {
    data::bytes(CHUNKED_SEED, CHUNK_SIZES.iter().sum())
}

/// The body of the 404 for `path`.
pub fn not_found_body(path: &str) -> Vec<u8> {
    format!("no such page: {path}\n").into_bytes()
}

/// Serves every connection `listener` accepts, each on a task of its own, until dropped.
pub async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            if let Err(e) = respond(stream).await {
                eprintln!("test HTTP server: {e}");
            }
        });
    }
}

/// Reads one request and answers it.
async fn respond(mut stream: TcpStream) -> io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "request cut short",
            ));
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    assert_eq!(method, "GET", "http_get sends GET");
    match path {
        "/small" => fixed(&mut stream, "200 OK", SMALL).await?,
        "/big" => big(&mut stream).await?,
        "/chunked" => chunked(&mut stream).await?,
        _ => fixed(&mut stream, "404 Not Found", &not_found_body(path)).await?,
    }
    stream.shutdown().await?;
    // Until the client's FIN: dropping a socket with unread bytes would send RST.
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}

async fn fixed(stream: &mut TcpStream, status: &str, body: &[u8]) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await
}

async fn big(stream: &mut TcpStream) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {BIG_LEN}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    data::send(stream, BIG_SEED, BIG_LEN).await.map(drop)
}

async fn chunked(stream: &mut TcpStream) -> io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
              Transfer-Encoding: chunked\r\nTrailer: X-Test\r\nConnection: close\r\n\r\n",
        )
        .await?;
    let body = chunked_body();
    let mut at = 0;
    for (i, size) in CHUNK_SIZES.into_iter().enumerate() {
        // One chunk carries an extension, which a client must ignore (RFC 9112 §7.1.1).
        let extension = if i == 3 { ";name=value" } else { "" };
        stream
            .write_all(format!("{size:x}{extension}\r\n").as_bytes())
            .await?;
        stream.write_all(&body[at..at + size]).await?;
        stream.write_all(b"\r\n").await?;
        at += size;
    }
    stream.write_all(b"0\r\nX-Test: trailer\r\n\r\n").await
}
