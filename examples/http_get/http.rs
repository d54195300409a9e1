//! The HTTP/1.1 of one GET: the request's bytes, and a sans-IO parser of the response (RFC 9112).
//!
//! The response is network data, so the parser trusts nothing: the head is bounded
//! ([`MAX_HEAD`]), chunk sizes are parsed with overflow checks, every line it buffers is
//! bounded, and every malformed input is an [`HttpError`], never a panic. It is fed whatever
//! bytes arrive, split anywhere:
//!
//! 1. [`parse_head`] on the bytes received so far, until it returns the [`Head`] and how many
//!    bytes it took;
//! 2. [`Body::for_response`] from the head, then [`Body::feed`] with the rest and every later
//!    read, until [`Body::is_done`]; at end of stream, [`Body::finish`] says whether the body
//!    was complete.

use std::fmt;

/// The `User-Agent` we send.
pub const USER_AGENT: &str = "tcpstk-http_get/0.1";
/// Bytes a response head (status line and headers) may take at most.
pub const MAX_HEAD: usize = 64 * 1024;
/// Header fields a head may have at most.
const MAX_FIELDS: usize = 256;
/// Bytes of a chunk-size line (with its extensions) at most.
const MAX_CHUNK_LINE: usize = 4096;
/// Bytes of the trailer section at most.
const MAX_TRAILERS: usize = 64 * 1024;

/// Why a response could not be read. `Display` says it in a few words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The head grew past [`MAX_HEAD`] without ending.
    HeadTooLong,
    /// More than the allowed number of header fields.
    TooManyFields,
    /// The status line is not `HTTP/1.x NNN reason`.
    BadStatusLine,
    /// A header line is not `name: value`.
    BadField,
    /// `Content-Length` is not a number, or several disagree.
    BadContentLength,
    /// `Transfer-Encoding` lists `chunked` but not last.
    BadTransferEncoding,
    /// A chunk-size line is malformed or too long, or the size overflows.
    BadChunk,
    /// The trailer section is malformed or too long.
    BadTrailers,
    /// `101 Switching Protocols`, which this client never asks for.
    UnexpectedUpgrade,
    /// The stream ended before the body did.
    Truncated {
        /// Body bytes received.
        received: u64,
        /// Bytes announced (`Content-Length`), when known.
        expected: Option<u64>,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::HeadTooLong => write!(f, "response head longer than {MAX_HEAD} bytes"),
            HttpError::TooManyFields => write!(f, "more than {MAX_FIELDS} header fields"),
            HttpError::BadStatusLine => f.write_str("malformed status line"),
            HttpError::BadField => f.write_str("malformed header field"),
            HttpError::BadContentLength => f.write_str("invalid Content-Length"),
            HttpError::BadTransferEncoding => f.write_str("invalid Transfer-Encoding"),
            HttpError::BadChunk => f.write_str("malformed chunk size line"),
            HttpError::BadTrailers => f.write_str("malformed trailer section"),
            HttpError::UnexpectedUpgrade => f.write_str("unexpected 101 Switching Protocols"),
            HttpError::Truncated {
                received,
                expected: Some(n),
            } => write!(f, "body cut short: {received} of {n} bytes"),
            HttpError::Truncated { received, .. } => {
                write!(f, "body cut short after {received} bytes")
            }
        }
    }
}

impl std::error::Error for HttpError {}

/// The request: `GET` with `Host`, `User-Agent` and `Connection: close` (RFC 9112 §3, §9.6).
pub fn request(target: &str, host: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// A response's status line and header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    /// The three-digit status code.
    pub status: u16,
    /// The reason phrase (may be empty; not necessarily UTF-8, shown lossily).
    pub reason: String,
    /// The fields in order, names as sent, values without surrounding whitespace.
    pub fields: Vec<(String, String)>,
}

impl Head {
    /// The values of every field named `name` (case-insensitive), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A 1xx interim response, which a final response follows (RFC 9110 §15.2).
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }

    /// The status line as received, e.g. `HTTP/1.1 200 OK`.
    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, self.reason)
            .trim_end()
            .to_owned()
    }
}

/// Parses the head at the start of `buf`: `Ok(None)` until its empty line has arrived, then
/// the head and the bytes it took. Lines may end in CRLF or a bare LF (RFC 9112 §2.2);
/// obsolete line folding is replaced by a space (§5.2).
///
/// # Errors
///
/// A malformed head, or one longer than [`MAX_HEAD`].
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HttpError> {
    let Some(len) = head_len(buf) else {
        return if buf.len() > MAX_HEAD {
            Err(HttpError::HeadTooLong)
        } else {
            Ok(None)
        };
    };
    if len > MAX_HEAD {
        return Err(HttpError::HeadTooLong);
    }
    let mut lines = buf[..len].split(|&b| b == b'\n').map(strip_cr);
    let (version, status, reason) = parse_status_line(lines.next().unwrap_or_default())?;
    let fields = parse_fields(lines.take_while(|l| !l.is_empty()), HttpError::BadField)?;
    let head = Head {
        version,
        status,
        reason,
        fields,
    };
    Ok(Some((head, len)))
}

/// The length of the head through its empty line, if it has all arrived.
fn head_len(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    for (i, &b) in buf.iter().enumerate() {
        if b == b'\n' {
            if strip_cr(&buf[start..i]).is_empty() && start > 0 {
                return Some(i + 1);
            }
            start = i + 1;
        }
    }
    None
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// `HTTP/1.x SP 3DIGIT SP reason` (RFC 9112 §4); a missing reason is tolerated.
fn parse_status_line(line: &[u8]) -> Result<(String, u16, String), HttpError> {
    let rest = line
        .strip_prefix(b"HTTP/1.")
        .ok_or(HttpError::BadStatusLine)?;
    let [minor @ b'0'..=b'9', b' ', d0, d1, d2, tail @ ..] = rest else {
        return Err(HttpError::BadStatusLine);
    };
    let digits = [*d0, *d1, *d2];
    if !digits.iter().all(u8::is_ascii_digit) || d0 == &b'0' {
        return Err(HttpError::BadStatusLine);
    }
    let status = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let reason = match tail {
        [] => &[][..],
        [b' ', reason @ ..] => reason,
        _ => return Err(HttpError::BadStatusLine),
    };
    if reason
        .iter()
        .any(|&b| (b < b' ' && b != b'\t') || b == 0x7f)
    {
        return Err(HttpError::BadStatusLine);
    }
    let version = format!("HTTP/1.{}", char::from(*minor));
    Ok((
        version,
        status,
        String::from_utf8_lossy(reason).into_owned(),
    ))
}

/// Header (or trailer) lines: `name: value`, the name a token with no space before the colon
/// (RFC 9112 §5.1), a line starting with whitespace continuing the previous value (§5.2).
fn parse_fields<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
    error: HttpError,
) -> Result<Vec<(String, String)>, HttpError> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.iter().any(|&b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Err(error);
        }
        if let [b' ' | b'\t', ..] = line {
            let (_, value) = fields.last_mut().ok_or(error.clone())?;
            value.push(' ');
            value.push_str(String::from_utf8_lossy(line).trim_matches([' ', '\t']));
            continue;
        }
        let colon = line.iter().position(|&b| b == b':').ok_or(error.clone())?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(error);
        }
        if fields.len() == MAX_FIELDS {
            return Err(HttpError::TooManyFields);
        }
        let value = String::from_utf8_lossy(value);
        fields.push((
            String::from_utf8_lossy(name).into_owned(),
            value.trim_matches([' ', '\t']).to_owned(),
        ));
    }
    Ok(fields)
}

/// A token character (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// How the body's end is found (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body: 1xx, 204, 304.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the server closes.
    UntilClose,
}

/// The framing a response's head announces.
///
/// # Errors
///
/// A `Content-Length` that is not a number or disagrees with another, `chunked` that is not
/// the last transfer coding, or a 101 (we never ask to switch protocols).
pub fn framing(head: &Head) -> Result<Framing, HttpError> {
    if head.status == 101 {
        return Err(HttpError::UnexpectedUpgrade);
    }
    if head.is_interim() || head.status == 204 || head.status == 304 {
        return Ok(Framing::Empty);
    }
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3).
    let codings: Vec<&str> = head
        .values("transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(|c| c.trim_matches([' ', '\t']))
        .filter(|c| !c.is_empty())
        .collect();
    if let Some((last, before)) = codings.split_last() {
        if before.iter().any(|c| c.eq_ignore_ascii_case("chunked")) {
            return Err(HttpError::BadTransferEncoding);
        }
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    content_length(head).map(|n| n.map_or(Framing::UntilClose, Framing::Length))
}

/// The `Content-Length`, if any: every value (fields may repeat, values may be lists) must be
/// the same decimal number (RFC 9110 §8.6).
fn content_length(head: &Head) -> Result<Option<u64>, HttpError> {
    let mut length = None;
    for value in head.values("content-length").flat_map(|v| v.split(',')) {
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HttpError::BadContentLength);
        }
        let n: u64 = value.parse().map_err(|_| HttpError::BadContentLength)?;
        if length.is_some_and(|l| l != n) {
            return Err(HttpError::BadContentLength);
        }
        length = Some(n);
    }
    Ok(length)
}

/// Where the chunked decoder is (RFC 9112 §7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Chunked {
    /// Reading a chunk-size line (the bytes so far).
    Size(Vec<u8>),
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// After a chunk's data: its line end (`cr` once the CR has come).
    DataEnd {
        /// The CR has come; the LF is next.
        cr: bool,
    },
    /// After the last chunk: the trailer section (the bytes so far).
    Trailers(Vec<u8>),
}

/// The body decoder: fed the bytes after the head, it writes the body's bytes, de-chunked.
#[derive(Clone, Debug)]
pub struct Body {
    framing: Framing,
    chunked: Chunked,
    received: u64,
    trailers: Vec<(String, String)>,
    done: bool,
}

impl Body {
    /// A decoder for the response whose head is `head`.
    ///
    /// # Errors
    ///
    /// As [`framing`].
    pub fn for_response(head: &Head) -> Result<Body, HttpError> {
        framing(head).map(Body::new)
    }

    /// A decoder for a body framed as `framing`.
    pub fn new(framing: Framing) -> Body {
        Body {
            framing,
            chunked: Chunked::Size(Vec::new()),
            received: 0,
            trailers: Vec::new(),
            done: matches!(framing, Framing::Empty | Framing::Length(0)),
        }
    }

    /// True once the whole body has arrived (never for [`Framing::UntilClose`]: only the end of
    /// the stream ends it).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Body bytes decoded so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The trailer fields of a chunked body, once it is done.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// Decodes `input`, appending body bytes to `out`. Returns the bytes of `input` it took:
    /// all of them, unless the body ended inside it (what follows is not the body's).
    ///
    /// # Errors
    ///
    /// Malformed chunked framing.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, HttpError> {
        if self.done {
            return Ok(0);
        }
        match self.framing {
            Framing::Empty => Ok(0),
            Framing::UntilClose => {
                self.take_data(input, out);
                Ok(input.len())
            }
            Framing::Length(n) => {
                let left = usize::try_from(n - self.received).unwrap_or(usize::MAX);
                let data = &input[..input.len().min(left)];
                self.take_data(data, out);
                self.done = self.received == n;
                Ok(data.len())
            }
            Framing::Chunked => self.feed_chunked(input, out),
        }
    }

    /// The stream ended: fine if the body is complete (or runs until close).
    ///
    /// # Errors
    ///
    /// [`HttpError::Truncated`] when the body was cut short.
    pub fn finish(&mut self) -> Result<(), HttpError> {
        if self.framing == Framing::UntilClose {
            self.done = true;
        }
        if self.done {
            return Ok(());
        }
        let expected = match self.framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        Err(HttpError::Truncated {
            received: self.received,
            expected,
        })
    }

    fn take_data(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(data);
        self.received += data.len() as u64;
    }

    fn feed_chunked(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<usize, HttpError> {
        let total = input.len();
        while !input.is_empty() && !self.done {
            let taken = self.chunked_step(input, out)?;
            input = &input[taken..];
        }
        Ok(total - input.len())
    }

    /// One step of the chunked state machine; returns the bytes it took.
    fn chunked_step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, HttpError> {
        match &mut self.chunked {
            Chunked::Size(line) => {
                let (taken, complete) =
                    take_line(line, input, MAX_CHUNK_LINE).ok_or(HttpError::BadChunk)?;
                if let Some(line) = complete.then(|| line.strip_suffix(b"\n")).flatten() {
                    self.chunked = match parse_chunk_size(strip_cr(line))? {
                        0 => Chunked::Trailers(Vec::new()),
                        n => Chunked::Data(n),
                    };
                }
                Ok(taken)
            }
            Chunked::Data(left) => {
                let n = input
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= n as u64;
                if *left == 0 {
                    self.chunked = Chunked::DataEnd { cr: false };
                }
                self.take_data(&input[..n], out);
                Ok(n)
            }
            // The CRLF (or bare LF) after a chunk's data, checked byte by byte.
            Chunked::DataEnd { cr } => match input.first() {
                Some(b'\r') if !*cr => {
                    *cr = true;
                    Ok(1)
                }
                Some(b'\n') => {
                    self.chunked = Chunked::Size(Vec::new());
                    Ok(1)
                }
                _ => Err(HttpError::BadChunk),
            },
            Chunked::Trailers(_) => self.trailer_step(input),
        }
    }

    /// Reads one line of the trailer section; its empty line ends the body.
    fn trailer_step(&mut self, input: &[u8]) -> Result<usize, HttpError> {
        let Chunked::Trailers(section) = &mut self.chunked else {
            return Ok(0);
        };
        let start = section.len();
        let (taken, complete) =
            take_line(section, input, MAX_TRAILERS).ok_or(HttpError::BadTrailers)?;
        if complete && strip_cr(&section[start..section.len() - 1]).is_empty() {
            let lines = section[..start].split(|&b| b == b'\n').map(strip_cr);
            self.trailers = parse_fields(lines.filter(|l| !l.is_empty()), HttpError::BadTrailers)?;
            self.done = true;
        }
        Ok(taken)
    }
}

/// Appends `input` to `line` up to and including the first LF, keeping `line` within `max`
/// bytes (`None` past it). Returns the bytes taken and whether the LF arrived.
fn take_line(line: &mut Vec<u8>, input: &[u8], max: usize) -> Option<(usize, bool)> {
    let (taken, complete) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (i + 1, true),
        None => (input.len(), false),
    };
    if line.len() + taken > max {
        return None;
    }
    line.extend_from_slice(&input[..taken]);
    Some((taken, complete))
}

/// `chunk-size [ chunk-ext ]`: hex digits, then optionally whitespace and `;`-extensions,
/// which are ignored (RFC 9112 §7.1.1).
fn parse_chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(HttpError::BadChunk);
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let digit = char::from(b).to_digit(16).ok_or(HttpError::BadChunk)?;
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(digit)))
            .ok_or(HttpError::BadChunk)?;
    }
    let rest = trim_start_ws(&line[digits..]);
    match rest {
        [] | [b';', ..] => Ok(size),
        _ => Err(HttpError::BadChunk),
    }
}

fn trim_start_ws(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        let (head, len) = parse_head(text.as_bytes())
            .expect("valid head")
            .expect("complete head");
        assert_eq!(len, text.len(), "the head is all of {text:?}");
        head
    }

    /// Decodes a whole response fed in pieces of `step` bytes: the head, the body and the
    /// trailers, or the first error.
    fn decode(response: &[u8], step: usize) -> Result<(Head, Vec<u8>, Body), HttpError> {
        let mut buf = Vec::new();
        let mut pieces = response.chunks(step.max(1));
        let (head, used) = loop {
            let Some(piece) = pieces.next() else {
                return Err(HttpError::BadStatusLine);
            };
            buf.extend_from_slice(piece);
            if let Some(done) = parse_head(&buf)? {
                break done;
            }
        };
        let mut body = Body::for_response(&head)?;
        let mut out = Vec::new();
        body.feed(&buf[used..], &mut out)?;
        for piece in pieces {
            body.feed(piece, &mut out)?;
        }
        body.finish()?;
        Ok((head, out, body))
    }

    /// Every way of splitting `response` gives the same result.
    fn decode_all_splits(response: &[u8]) -> Result<(Head, Vec<u8>, Body), HttpError> {
        let whole = decode(response, response.len());
        for step in 1..response.len() {
            let split = decode(response, step);
            assert_eq!(
                split.as_ref().map(|(h, b, _)| (h, b)),
                whole.as_ref().map(|(h, b, _)| (h, b)),
                "split every {step} bytes"
            );
        }
        whole
    }

    #[test]
    fn request_has_the_three_headers() {
        let req = String::from_utf8(request("/a?b", "h:8080")).unwrap();
        assert_eq!(
            req,
            "GET /a?b HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: tcpstk-http_get/0.1\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn head_fields_and_status() {
        let h = head("HTTP/1.1 404 Not Found\r\nServer: x\r\nX-A:  1 \r\nx-a: 2\r\n\r\n");
        assert_eq!((h.status, h.reason.as_str()), (404, "Not Found"));
        assert_eq!(h.status_line(), "HTTP/1.1 404 Not Found");
        assert_eq!(h.values("X-a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(h.fields.len(), 3);
    }

    #[test]
    fn head_waits_for_the_empty_line() {
        let text = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
        for end in 0..text.len() {
            assert_eq!(parse_head(&text[..end]), Ok(None), "{end} bytes");
        }
        assert!(parse_head(text).unwrap().is_some());
    }

    #[test]
    fn head_accepts_bare_lf_empty_reason_and_folding() {
        let h = head("HTTP/1.0 200\nA: one\n  two\n\n");
        assert_eq!((h.version.as_str(), h.status), ("HTTP/1.0", 200));
        assert_eq!(h.reason, "");
        assert_eq!(h.values("a").collect::<Vec<_>>(), ["one two"]);
        assert_eq!(head("HTTP/1.1 204 \r\n\r\n").reason, "");
    }

    #[test]
    fn head_reports_the_bytes_it_took() {
        let (_, len) = parse_head(b"HTTP/1.1 200 OK\r\n\r\nbody").unwrap().unwrap();
        assert_eq!(len, 19);
    }

    #[test]
    fn malformed_heads_are_errors() {
        let cases: &[(&[u8], HttpError)] = &[
            (b"HTTP/2 200 OK\r\n\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 20 OK\r\n\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 2000 OK\r\n\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 099 OK\r\n\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 abc OK\r\n\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1  200 OK\r\n\r\n", HttpError::BadStatusLine),
            (b"http/1.1 200 OK\r\n\r\n", HttpError::BadStatusLine),
            (b"SSH-2.0-OpenSSH\r\n\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 200 O\x00K\r\n\r\n", HttpError::BadStatusLine),
            (b"\r\n\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", HttpError::BadField),
            (b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n", HttpError::BadField),
            (b"HTTP/1.1 200 OK\r\n: b\r\n\r\n", HttpError::BadField),
            (b"HTTP/1.1 200 OK\r\n folded\r\n\r\n", HttpError::BadField),
            (b"HTTP/1.1 200 OK\r\nA: b\x01c\r\n\r\n", HttpError::BadField),
            (b"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", HttpError::BadField),
        ];
        for (text, error) in cases {
            assert_eq!(
                parse_head(text),
                Err(error.clone()),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn head_size_and_field_count_are_bounded() {
        let endless = vec![b'a'; MAX_HEAD + 1];
        assert_eq!(parse_head(&endless), Err(HttpError::HeadTooLong));
        let mut long = b"HTTP/1.1 200 OK\r\nA: ".to_vec();
        long.extend(vec![b'x'; MAX_HEAD]);
        long.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_head(&long), Err(HttpError::HeadTooLong));
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_FIELDS + 1)
        );
        assert_eq!(parse_head(many.as_bytes()), Err(HttpError::TooManyFields));
    }

    #[test]
    fn content_length_body() {
        let (h, body, _) =
            decode_all_splits(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(body, b"hello");
    }

    #[test]
    fn content_length_ignores_what_follows_the_body() {
        let mut body = Body::new(Framing::Length(3));
        let mut out = Vec::new();
        assert_eq!(body.feed(b"abcdef", &mut out), Ok(3));
        assert!(body.is_done());
        assert_eq!(body.feed(b"gh", &mut out), Ok(0));
        assert_eq!(out, b"abc");
    }

    #[test]
    fn content_length_zero_and_no_body_statuses_are_done_at_once() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            "HTTP/1.1 100 Continue\r\n\r\n",
        ] {
            assert!(Body::for_response(&head(text)).unwrap().is_done(), "{text}");
        }
    }

    #[test]
    fn content_length_truncated_is_an_error() {
        let err = decode(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", 64);
        assert_eq!(
            err.map(|_| ()),
            Err(HttpError::Truncated {
                received: 5,
                expected: Some(10)
            })
        );
        assert_eq!(
            err_text(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
            "body cut short: 5 of 10 bytes"
        );
    }

    fn err_text(response: &[u8]) -> String {
        decode(response, 7).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn bad_content_lengths_are_errors() {
        for value in [
            "-1",
            "abc",
            "1 2",
            "+5",
            "0x10",
            "",
            "99999999999999999999",
            "5, 6",
        ] {
            let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
            assert_eq!(
                framing(&head(&text)),
                Err(HttpError::BadContentLength),
                "{value:?}"
            );
        }
        let twice = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
        assert_eq!(framing(&head(twice)), Err(HttpError::BadContentLength));
    }

    #[test]
    fn repeated_identical_content_lengths_are_accepted() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(framing(&head(text)), Ok(Framing::Length(5)));
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;name=value\r\nhello\r\n\
            1 ; quoted=\"a;b\"\r\n \r\n\
            6\r\nworld!\r\n\
            000;last\r\nExpires: never\r\nX-Sum: 12\r\n\r\n";
        let (_, body, decoder) = decode_all_splits(response).unwrap();
        assert_eq!(body, b"hello world!");
        assert_eq!(
            decoder.trailers(),
            [
                ("Expires".to_owned(), "never".to_owned()),
                ("X-Sum".to_owned(), "12".to_owned())
            ]
        );
    }

    #[test]
    fn chunked_with_uppercase_hex_bare_lf_and_no_trailers() {
        let response = b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n\
            A\nabcdefghij\n0\n\n";
        let (_, body, decoder) = decode_all_splits(response).unwrap();
        assert_eq!(body, b"abcdefghij");
        assert!(decoder.trailers().is_empty());
    }

    #[test]
    fn transfer_encoding_overrides_content_length() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(framing(&head(text)), Ok(Framing::Chunked));
    }

    #[test]
    fn chunked_not_last_is_an_error_other_codings_run_until_close() {
        let bad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n";
        assert_eq!(framing(&head(bad)), Err(HttpError::BadTransferEncoding));
        let gzip = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
        assert_eq!(framing(&head(gzip)), Ok(Framing::UntilClose));
    }

    #[test]
    fn chunked_ignores_what_follows_the_body() {
        let mut body = Body::new(Framing::Chunked);
        let mut out = Vec::new();
        let input = b"2\r\nok\r\n0\r\n\r\nGARBAGE";
        assert_eq!(body.feed(input, &mut out), Ok(input.len() - 7));
        assert!(body.is_done());
        assert_eq!(out, b"ok");
    }

    #[test]
    fn malformed_chunks_are_errors() {
        for chunks in [
            &b"x\r\n"[..],
            b"\r\n",
            b";ext\r\n",
            b"-1\r\n",
            b"5 x\r\nhello\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\r\nhello\rX",
            b"1ffffffffffffffff\r\n",
            b"fffffffffffffffff\r\n",
            b"0\r\nbad trailer\r\n\r\n",
        ] {
            let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            response.extend_from_slice(chunks);
            let result = decode(&response, 3).map(|_| ());
            assert!(
                matches!(result, Err(HttpError::BadChunk | HttpError::BadTrailers)),
                "{}: {result:?}",
                String::from_utf8_lossy(chunks)
            );
        }
    }

    #[test]
    fn largest_chunk_size_parses_without_overflow() {
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(parse_chunk_size(b"0000000000000000001"), Ok(1));
    }

    #[test]
    fn chunk_lines_and_trailers_are_bounded() {
        let mut body = Body::new(Framing::Chunked);
        let long_ext = format!("1;{}", "e".repeat(MAX_CHUNK_LINE));
        assert_eq!(
            body.feed(long_ext.as_bytes(), &mut Vec::new()),
            Err(HttpError::BadChunk)
        );
        let mut body = Body::new(Framing::Chunked);
        let mut out = Vec::new();
        body.feed(b"0\r\n", &mut out).unwrap();
        let trailer = format!("A: {}", "x".repeat(MAX_TRAILERS));
        assert_eq!(
            body.feed(trailer.as_bytes(), &mut out),
            Err(HttpError::BadTrailers)
        );
    }

    #[test]
    fn chunked_truncated_is_an_error() {
        let response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert_eq!(
            decode(response, 4).map(|_| ()),
            Err(HttpError::Truncated {
                received: 3,
                expected: None
            })
        );
        let no_last = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n";
        assert!(matches!(
            decode(no_last, 4),
            Err(HttpError::Truncated { .. })
        ));
    }

    #[test]
    fn until_close_body() {
        let (_, body, _) =
            decode_all_splits(b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of it\r\n\r\n").unwrap();
        assert_eq!(body, b"all of it\r\n\r\n");
    }

    #[test]
    fn upgrade_is_refused() {
        let text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        assert_eq!(framing(&head(text)), Err(HttpError::UnexpectedUpgrade));
    }

    #[test]
    fn binary_body_is_byte_exact() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            payload.len()
        )
        .into_bytes();
        response.extend_from_slice(&payload);
        let (_, body, _) = decode(&response, 1000).unwrap();
        assert_eq!(body, payload);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: xorshift bytes, biased toward the characters that matter.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"HTTP/1.1 200 OK\r\n:;0123456789abcdefABCDEF \t\x00\xff";
        for _ in 0..2000 {
            let mut input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                input.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let _ = decode(&input, (x % 7 + 1) as usize);
            let _ = decode(&input[48..], 5);
        }
    }
}
