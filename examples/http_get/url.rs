//! `http://` URLs: the scheme, the host (a name, an IPv4 literal or a bracketed IPv6 literal),
//! the port and the request target (path and query), as RFC 3986 §3 splits them.
//!
//! Deliberately small: only what an HTTP/1.1 GET needs. Userinfo (`user@host`), IPv6 zone
//! identifiers and non-ASCII text are refused with a clear error rather than guessed at.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The port of `http://` when the URL names none (RFC 9110 §4.2.1).
const DEFAULT_PORT: u16 = 80;

/// Where a URL's host part points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A name for the resolver, lower-cased.
    Name(String),
    /// An IPv4 or IPv6 literal: nothing to resolve.
    Ip(IpAddr),
}

/// A parsed `http://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// The host.
    pub host: Host,
    /// The port (80 unless the URL says otherwise).
    pub port: u16,
    /// The request target of the request line: the path (at least `/`) and the query; the
    /// fragment is never sent (RFC 9110 §4.2.5).
    pub target: String,
}

/// Why a URL was refused. `Display` gives the reason in a few words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// `https://`: this client speaks plain HTTP only.
    Https,
    /// Some other scheme, or none.
    Scheme,
    /// `user:password@` before the host.
    Userinfo,
    /// No host between `//` and the path.
    EmptyHost,
    /// A host that is neither a name, an IPv4 literal nor a bracketed IPv6 literal.
    BadHost,
    /// A port that is not a number from 1 to 65535.
    BadPort,
    /// A space, control character or non-ASCII character that would break the request line.
    BadChar,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Https => "https is not supported: this client speaks plain HTTP (http://)",
            UrlError::Scheme => "only http:// URLs are supported",
            UrlError::Userinfo => "credentials (user@host) in URLs are not supported",
            UrlError::EmptyHost => "the URL has no host",
            UrlError::BadHost => {
                "the host is not a name, an IPv4 address or a bracketed IPv6 address"
            }
            UrlError::BadPort => "the port must be a number from 1 to 65535",
            UrlError::BadChar => {
                "the URL contains a space, a control or a non-ASCII character (percent-encode it)"
            }
        })
    }
}

impl std::error::Error for UrlError {}

impl Url {
    /// Parses `http://host[:port][/path][?query][#fragment]`.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Url, UrlError> {
        if text.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(UrlError::BadChar);
        }
        let rest = strip_scheme(text)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(UrlError::Userinfo);
        }
        let (host, port) = split_host_port(authority)?;
        Ok(Url {
            host: parse_host(host)?,
            port: parse_port(port)?,
            target: request_target(tail),
        })
    }

    /// The value of the `Host` header (RFC 9110 §7.2): the host as written, IPv6 in brackets,
    /// and the port unless it is the default.
    pub fn host_header(&self) -> String {
        let host = self.host.to_string();
        if self.port == DEFAULT_PORT {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.target)
    }
}

/// What follows `http://`; the scheme is case-insensitive (RFC 3986 §3.1).
fn strip_scheme(text: &str) -> Result<&str, UrlError> {
    let (scheme, rest) = text.split_once("://").ok_or(UrlError::Scheme)?;
    if scheme.eq_ignore_ascii_case("http") {
        Ok(rest)
    } else if scheme.eq_ignore_ascii_case("https") {
        Err(UrlError::Https)
    } else {
        Err(UrlError::Scheme)
    }
}

/// Splits the authority into host and port text (`None` without a port); a bracketed host
/// must be an IPv6 literal (RFC 3986 §3.2.2).
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    let Some(bracketed) = authority.strip_prefix('[') else {
        return match authority.split_once(':') {
            // A second colon: an IPv6 literal without its brackets.
            Some((_, port)) if port.contains(':') => Err(UrlError::BadHost),
            Some((host, port)) => Ok((host, Some(port))),
            None => Ok((authority, None)),
        };
    };
    let (host, after) = bracketed.split_once(']').ok_or(UrlError::BadHost)?;
    if host.parse::<Ipv6Addr>().is_err() {
        return Err(UrlError::BadHost);
    }
    match after {
        "" => Ok((host, None)),
        _ => after
            .strip_prefix(':')
            .map(|port| (host, Some(port)))
            .ok_or(UrlError::BadHost),
    }
}

/// An IP literal or a DNS name (letters, digits, `-`, `_` and dots, no empty label).
fn parse_host(host: &str) -> Result<Host, UrlError> {
    if host.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        return Ok(Host::Ip(ip.into()));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(ip.into()));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    // All digits and dots but not an IPv4 address (`1.2.3`, `999.1.1.1`): refused, since
    // resolvers read such names as numbers in ways that differ.
    let numeric = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if name.len() > 253 || numeric || !name.split('.').all(label_ok) {
        return Err(UrlError::BadHost);
    }
    Ok(Host::Name(name.to_ascii_lowercase()))
}

/// The port: absent or empty means 80 (RFC 3986 §3.2.3), otherwise 1 to 65535.
fn parse_port(port: Option<&str>) -> Result<u16, UrlError> {
    match port {
        None | Some("") => Ok(DEFAULT_PORT),
        Some(digits) if digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            match digits.parse::<u16>() {
                Ok(0) | Err(_) => Err(UrlError::BadPort),
                Ok(port) => Ok(port),
            }
        }
        Some(_) => Err(UrlError::BadPort),
    }
}

/// The path and query, without the fragment; `/` when the path is empty (RFC 9112 §3.2.1).
fn request_target(tail: &str) -> String {
    let tail = tail.split_once('#').map_or(tail, |(before, _)| before);
    if tail.starts_with('/') {
        tail.to_owned()
    } else {
        format!("/{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn host_only_gets_port_80_and_root_path() {
        let u = url("http://example.com");
        assert_eq!(u.host, Host::Name("example.com".into()));
        assert_eq!((u.port, u.target.as_str()), (80, "/"));
        assert_eq!(u.host_header(), "example.com");
        assert_eq!(u.to_string(), "http://example.com/");
    }

    #[test]
    fn port_path_and_query_are_kept_fragment_dropped() {
        let u = url("HTTP://Example.COM:8080/a/b.html?x=1&y=%20#top");
        assert_eq!(u.host, Host::Name("example.com".into()));
        assert_eq!(u.port, 8080);
        assert_eq!(u.target, "/a/b.html?x=1&y=%20");
        assert_eq!(u.host_header(), "example.com:8080");
    }

    #[test]
    fn query_without_path_gets_a_slash() {
        assert_eq!(url("http://h?q=1").target, "/?q=1");
        assert_eq!(url("http://h#frag").target, "/");
    }

    #[test]
    fn ipv4_literal() {
        let u = url("http://10.200.0.1:81/");
        assert_eq!(u.host, Host::Ip("10.200.0.1".parse().unwrap()));
        assert_eq!(u.port, 81);
        assert_eq!(u.host_header(), "10.200.0.1:81");
    }

    #[test]
    fn ipv6_literal_in_brackets() {
        let u = url("http://[FD00::1]:8000/index.html");
        assert_eq!(u.host, Host::Ip("fd00::1".parse().unwrap()));
        assert_eq!(u.port, 8000);
        assert_eq!(u.host_header(), "[fd00::1]:8000");
        assert_eq!(url("http://[::1]").port, 80);
        assert_eq!(url("http://[::1]/").host_header(), "[::1]");
    }

    #[test]
    fn empty_port_means_default() {
        assert_eq!(url("http://h:/x").port, 80);
    }

    #[test]
    fn trailing_dot_of_a_name_is_dropped() {
        assert_eq!(
            url("http://example.com./").host,
            Host::Name("example.com".into())
        );
    }

    #[test]
    fn https_gets_its_own_error() {
        assert_eq!(Url::parse("https://example.com/"), Err(UrlError::Https));
        assert_eq!(Url::parse("HTTPS://example.com/"), Err(UrlError::Https));
    }

    #[test]
    fn other_schemes_and_no_scheme_are_refused() {
        for text in ["ftp://h/", "example.com/", "//h/", "http:/h", "", "http//h"] {
            assert_eq!(Url::parse(text), Err(UrlError::Scheme), "{text}");
        }
    }

    #[test]
    fn bad_hosts_are_refused() {
        assert_eq!(Url::parse("http:///path"), Err(UrlError::EmptyHost));
        assert_eq!(Url::parse("http://:80/"), Err(UrlError::EmptyHost));
        for text in [
            "http://::1/",
            "http://fd00::1:80/",
            "http://[fd00::1/",
            "http://[fd00::1]x/",
            "http://[not-v6]/",
            "http://[fe80::1%25eth0]/",
            "http://a..b/",
            "http://bad!host/",
            "http://1.2.3/",
            "http://256.1.1.1/",
        ] {
            assert_eq!(Url::parse(text), Err(UrlError::BadHost), "{text}");
        }
        let long_label = format!("http://{}.com/", "a".repeat(64));
        assert_eq!(Url::parse(&long_label), Err(UrlError::BadHost));
    }

    #[test]
    fn bad_ports_are_refused() {
        for text in [
            "http://h:0/",
            "http://h:65536/",
            "http://h:99999999999999999999/",
            "http://h:-1/",
            "http://h:+80/",
            "http://h:8o/",
            "http://[::1]:x/",
        ] {
            assert_eq!(Url::parse(text), Err(UrlError::BadPort), "{text}");
        }
        assert_eq!(url("http://h:65535/").port, 65535);
    }

    #[test]
    fn userinfo_is_refused() {
        assert_eq!(Url::parse("http://u:p@h/"), Err(UrlError::Userinfo));
    }

    #[test]
    fn characters_that_would_break_the_request_line_are_refused() {
        for text in [
            "http://h/a b",
            "http://h/\r\nX: y",
            "http://h/é",
            "http://h/\t",
        ] {
            assert_eq!(Url::parse(text), Err(UrlError::BadChar), "{text:?}");
        }
    }
}
