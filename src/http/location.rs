//! The `Location` of a redirect: parsed without allocating, resolved into a lent buffer.

use core::fmt;

use crate::BufferTooSmall;
use crate::ascii::{Overflow, move_within, parse_u64};

/// The scheme of an absolute `Location`.
///
/// # Examples
///
/// ```
/// use sansse::http::{Location, Scheme};
///
/// let location = Location::parse("https://example.com/events").unwrap();
/// assert_eq!(location.scheme(), Some(Scheme::Https));
/// assert!(!location.is_supported());
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Scheme {
    /// Plain `http`, default port 80.
    Http,
    /// `https`, default port 443; needs a TLS shell (feature `tls`: `io::tls`).
    Https,
}

impl Scheme {
    /// The port used when the URL names none.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Scheme;
    ///
    /// assert_eq!(Scheme::Https.default_port(), 443);
    /// ```
    pub const fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// A parsed `Location` header value (RFC 9110 section 10.2.2): an absolute `http`/`https` URL, a
/// network-path reference (`//host:port/path`), or a reference relative to the request target.
///
/// Fragments are dropped (they are never sent). User information (`user:pass@`) is refused.
///
/// # Examples
///
/// ```
/// use sansse::http::Location;
///
/// let location = Location::parse("http://[::1]:8081/v2/events?x=1#top").unwrap();
/// assert_eq!(location.host(), Some("::1"));
/// assert_eq!(location.port(), Some(8081));
/// assert_eq!(location.target(), "/v2/events?x=1");
/// assert!(location.changes_origin("localhost", 8081));
///
/// let relative = Location::parse("../other").unwrap();
/// assert!(!relative.changes_origin("example.com", 80));
/// let mut out = [0u8; 64];
/// assert_eq!(relative.resolve_target("/api/v1/events?a", &mut out), Ok("/api/other"));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct Location<'a> {
    scheme: Option<Scheme>,
    host: Option<&'a str>,
    port: Option<u16>,
    target: &'a str,
}

impl<'a> Location<'a> {
    /// Parses a `Location` value.
    ///
    /// # Errors
    ///
    /// [`LocationError::Invalid`] for an empty or malformed reference (spaces, controls,
    /// non-ASCII, user information, a bad port), [`LocationError::UnsupportedScheme`] for a
    /// scheme other than `http` and `https`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::{Location, LocationError};
    ///
    /// assert_eq!(Location::parse("ftp://x/"), Err(LocationError::UnsupportedScheme));
    /// assert_eq!(Location::parse("http://u:p@x/"), Err(LocationError::Invalid));
    /// ```
    pub fn parse(value: &'a str) -> Result<Self, LocationError> {
        if value.is_empty() {
            return Err(LocationError::Invalid);
        }
        let value = value.split_once('#').map_or(value, |(before, _)| before);
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(LocationError::Invalid);
        }
        if let Some(rest) = value.strip_prefix("//") {
            return Self::with_authority(None, rest);
        }
        if let Some((scheme, rest)) = split_scheme(value) {
            let scheme = if scheme.eq_ignore_ascii_case("http") {
                Scheme::Http
            } else if scheme.eq_ignore_ascii_case("https") {
                Scheme::Https
            } else {
                return Err(LocationError::UnsupportedScheme);
            };
            let rest = rest.strip_prefix("//").ok_or(LocationError::Invalid)?;
            return Self::with_authority(Some(scheme), rest);
        }
        // A bare fragment ("#top") resolves to the request target itself.
        Ok(Self {
            scheme: None,
            host: None,
            port: None,
            target: value,
        })
    }

    fn with_authority(scheme: Option<Scheme>, rest: &'a str) -> Result<Self, LocationError> {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err(LocationError::Invalid);
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or(LocationError::Invalid)?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or(LocationError::Invalid)?),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains(['[', ']']) {
            return Err(LocationError::Invalid);
        }
        // An empty port ("host:") means the default (RFC 3986 section 3.2.3).
        let port = match port {
            None | Some("") => None,
            Some(digits) => Some(
                parse_u64(digits.as_bytes(), Overflow::Reject)
                    .and_then(|port| u16::try_from(port).ok())
                    .ok_or(LocationError::Invalid)?,
            ),
        };
        Ok(Self {
            scheme,
            host: Some(host),
            port,
            target,
        })
    }

    /// The scheme of an absolute URL; `None` for references that keep the current scheme.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Location;
    ///
    /// assert_eq!(Location::parse("//cdn.example/e").unwrap().scheme(), None);
    /// ```
    pub const fn scheme(&self) -> Option<Scheme> {
        self.scheme
    }

    /// The host, without brackets around an IPv6 literal; `None` for a reference on the current
    /// host.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Location;
    ///
    /// assert_eq!(Location::parse("/next").unwrap().host(), None);
    /// assert_eq!(Location::parse("HTTP://Example.com").unwrap().host(), Some("Example.com"));
    /// ```
    pub const fn host(&self) -> Option<&'a str> {
        self.host
    }

    /// The port to connect to when the location names a host: the explicit port, or the
    /// scheme's default (80 when the scheme is inherited, since this crate speaks plain HTTP).
    /// `None` for a reference on the current host.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Location;
    ///
    /// assert_eq!(Location::parse("https://h/").unwrap().port(), Some(443));
    /// assert_eq!(Location::parse("http://h:8080").unwrap().port(), Some(8080));
    /// assert_eq!(Location::parse("/x").unwrap().port(), None);
    /// ```
    pub fn port(&self) -> Option<u16> {
        self.host?;
        Some(
            self.port
                .unwrap_or(self.scheme.unwrap_or(Scheme::Http).default_port()),
        )
    }

    /// The path and query as written, without the fragment. It may be relative (`next`,
    /// `../x`, `?page=2`) or empty; [`Location::resolve_target`] gives the request target to use.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Location;
    ///
    /// assert_eq!(Location::parse("http://h").unwrap().target(), "");
    /// assert_eq!(Location::parse("next?a=1").unwrap().target(), "next?a=1");
    /// ```
    pub const fn target(&self) -> &'a str {
        self.target
    }

    /// Whether a plain-HTTP shell can follow it (everything but `https`).
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Location;
    ///
    /// assert!(Location::parse("/x").unwrap().is_supported());
    /// ```
    pub fn is_supported(&self) -> bool {
        self.scheme != Some(Scheme::Https)
    }

    /// Whether following it means a different origin than `host:port` (the one just requested,
    /// over plain HTTP): another scheme, host or port. A client opens a new connection then,
    /// and should not forward credentials it was given for the old origin.
    ///
    /// Hosts compare case-insensitively, brackets around IPv6 literals ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Location;
    ///
    /// let location = Location::parse("http://EXAMPLE.com/v2").unwrap();
    /// assert!(!location.changes_origin("example.com", 80));
    /// assert!(location.changes_origin("example.com", 8080));
    /// assert!(Location::parse("https://example.com/").unwrap().changes_origin("example.com", 80));
    /// ```
    pub fn changes_origin(&self, host: &str, port: u16) -> bool {
        if self.scheme == Some(Scheme::Https) {
            return true;
        }
        let Some(new_host) = self.host else {
            return false;
        };
        let old_host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        !new_host.eq_ignore_ascii_case(old_host) || self.port() != Some(port)
    }

    /// Writes the request target to use after following the redirect from `base_target` (the
    /// target of the request that was redirected), resolved as RFC 3986 section 5.2 says, with
    /// dot segments removed. Returns the target, borrowed from `out`.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] if `out` cannot hold the merged path and query before dot segments are
    /// removed; nothing is written.
    ///
    /// # Examples
    ///
    /// ```
    /// use sansse::http::Location;
    ///
    /// let mut out = [0u8; 64];
    /// let cases = [
    ///     ("http://h/x/./y", "/x/y"),
    ///     ("http://h?q", "/?q"),
    ///     ("?page=2", "/a/b?page=2"),
    ///     ("c", "/a/c"),
    ///     ("../../../c", "/c"),
    ///     ("#frag", "/a/b?q"),
    /// ];
    /// for (location, expected) in cases {
    ///     let location = Location::parse(location).unwrap();
    ///     assert_eq!(location.resolve_target("/a/b?q", &mut out), Ok(expected));
    /// }
    /// ```
    pub fn resolve_target<'o>(
        &self,
        base_target: &str,
        out: &'o mut [u8],
    ) -> Result<&'o str, BufferTooSmall> {
        let (base_path, base_query) = split_query(base_target);
        let (ref_path, ref_query) = split_query(self.target);
        // The path is written in up to two pieces: a prefix from the base, then the reference.
        let (prefix, path, query) = if self.host.is_some() {
            (
                "",
                if ref_path.is_empty() { "/" } else { ref_path },
                ref_query,
            )
        } else if ref_path.starts_with('/') {
            ("", ref_path, ref_query)
        } else if ref_path.is_empty() {
            (base_path, "", ref_query.or(base_query))
        } else {
            (base_directory(base_path), ref_path, ref_query)
        };
        // Dot removal needs an absolute path; a base without a leading '/' gets one.
        let lead = usize::from(!prefix.starts_with('/') && !path.starts_with('/'));
        let path_len = lead + prefix.len() + path.len();
        let needed = path_len + query.map_or(0, |q| q.len() + 1);
        if needed > out.len() {
            return Err(BufferTooSmall { needed });
        }
        out[..lead].fill(b'/');
        out[lead..lead + prefix.len()].copy_from_slice(prefix.as_bytes());
        out[lead + prefix.len()..path_len].copy_from_slice(path.as_bytes());
        let mut len = remove_dot_segments(out, path_len);
        if let Some(query) = query {
            out[len] = b'?';
            out[len + 1..len + 1 + query.len()].copy_from_slice(query.as_bytes());
            len += 1 + query.len();
        }
        // Only ASCII was copied in, so this cannot fail.
        Ok(core::str::from_utf8(&out[..len]).unwrap_or_default())
    }
}

/// Splits `scheme:rest` when `value` starts with a scheme (RFC 3986 section 3.1).
fn split_scheme(value: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = value.split_once(':')?;
    let mut bytes = scheme.bytes();
    let first = bytes.next()?;
    let valid = first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then_some((scheme, rest))
}

fn split_query(target: &str) -> (&str, Option<&str>) {
    match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    }
}

/// The base path up to and including its last `/` (RFC 3986 section 5.2.3, "merge").
fn base_directory(base_path: &str) -> &str {
    match base_path.rfind('/') {
        Some(slash) => &base_path[..=slash],
        None => "/",
    }
}

/// Removes `.` and `..` segments from the path in `buf[..len]`, in place, and returns the new
/// length (RFC 3986 section 5.2.4). The path must be empty or start with `/`.
///
/// Works in place because each kept `/segment` is copied to a position no later than where it
/// was read.
fn remove_dot_segments(buf: &mut [u8], len: usize) -> usize {
    let mut read = 0;
    let mut write = 0;
    while read < len {
        // `buf[read]` is always a '/': the start, or where the previous segment stopped.
        let seg_start = read + 1;
        let seg_end = buf[seg_start..len]
            .iter()
            .position(|&b| b == b'/')
            .map_or(len, |i| seg_start + i);
        let last = seg_end == len;
        match &buf[seg_start..seg_end] {
            b"." => {}
            b".." => {
                while write > 0 {
                    write -= 1;
                    if buf[write] == b'/' {
                        break;
                    }
                }
            }
            _ => {
                let seg_len = seg_end - seg_start;
                buf[write] = b'/';
                move_within(buf, seg_start, write + 1, seg_len);
                write += 1 + seg_len;
                read = seg_end;
                continue;
            }
        }
        // A trailing "." or ".." leaves the path ending in a directory.
        if last {
            buf[write] = b'/';
            write += 1;
        }
        read = seg_end;
    }
    if write == 0 && !buf.is_empty() {
        buf[0] = b'/';
        write = 1;
    }
    write
}

/// Why a `Location` value cannot be followed.
///
/// # Examples
///
/// ```
/// use sansse::http::{Location, LocationError};
///
/// assert_eq!(Location::parse("/a b"), Err(LocationError::Invalid));
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
#[non_exhaustive]
pub enum LocationError {
    /// Empty, malformed, or holding characters a URL cannot have.
    Invalid,
    /// A scheme other than `http` or `https`.
    UnsupportedScheme,
}

impl fmt::Display for LocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "invalid location",
            Self::UnsupportedScheme => "unsupported location scheme",
        })
    }
}

impl core::error::Error for LocationError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn dots(path: &str) -> heapless::String<64> {
        let mut buf = [0u8; 64];
        buf[..path.len()].copy_from_slice(path.as_bytes());
        let len = remove_dot_segments(&mut buf, path.len());
        heapless::String::try_from(core::str::from_utf8(&buf[..len]).unwrap()).unwrap()
    }

    #[test]
    fn dot_segments_rfc3986_examples() {
        assert_eq!(dots("/a/b/c/./../../g"), "/a/g");
        assert_eq!(dots("/mid/content=5/../6"), "/mid/6");
        assert_eq!(dots("/a/b/.."), "/a/");
        assert_eq!(dots("/a/b/."), "/a/b/");
        assert_eq!(dots("/.."), "/");
        assert_eq!(dots("/../a"), "/a");
        assert_eq!(dots("/a//b"), "/a//b");
        assert_eq!(dots("/a/b/"), "/a/b/");
        assert_eq!(dots("/a/..b/.c"), "/a/..b/.c");
        assert_eq!(dots("/"), "/");
    }

    #[test]
    fn resolution_rfc3986_normal_examples() {
        // RFC 3986 section 5.4.1, base http://a/b/c/d;p?q, restricted to path and query.
        let base = "/b/c/d;p?q";
        let cases = [
            ("g", "/b/c/g"),
            ("./g", "/b/c/g"),
            ("g/", "/b/c/g/"),
            ("/g", "/g"),
            ("?y", "/b/c/d;p?y"),
            ("g?y", "/b/c/g?y"),
            ("#s", "/b/c/d;p?q"),
            ("g#s", "/b/c/g"),
            (";x", "/b/c/;x"),
            (".", "/b/c/"),
            ("./", "/b/c/"),
            ("..", "/b/"),
            ("../", "/b/"),
            ("../g", "/b/g"),
            ("../..", "/"),
            ("../../", "/"),
            ("../../g", "/g"),
            ("../../../g", "/g"),
            ("g.", "/b/c/g."),
            ("..g", "/b/c/..g"),
            ("./../g", "/b/g"),
            ("g/../h", "/b/c/h"),
            ("g;x=1/../y", "/b/c/y"),
        ];
        let mut out = [0u8; 64];
        for (reference, expected) in cases {
            let location = Location::parse(reference).unwrap();
            assert_eq!(
                location.resolve_target(base, &mut out),
                Ok(expected),
                "{reference}"
            );
        }
    }

    #[test]
    fn parse_table() {
        let ok = |s| Location::parse(s).unwrap();
        assert_eq!(ok("http://h").port(), Some(80));
        assert_eq!(ok("http://h:").port(), Some(80));
        assert_eq!(ok("//h:99/x").scheme(), None);
        assert_eq!(ok("//h:99/x").port(), Some(99));
        assert_eq!(ok("http://[fe80::1]/").host(), Some("fe80::1"));
        assert_eq!(ok("http://h?x").target(), "?x");
        assert_eq!(ok("#f").target(), "");
        for bad in [
            "",
            "http://h:65536/",
            "http://h:8x/",
            "http:/h",
            "http://",
            "http://[::1/",
            "http://[::1]x/",
            "http://h]/",
            "/caf\u{e9}",
            "/a\tb",
        ] {
            assert_eq!(Location::parse(bad), Err(LocationError::Invalid), "{bad}");
        }
        assert_eq!(
            Location::parse("mailto:x@y"),
            Err(LocationError::UnsupportedScheme)
        );
    }

    #[test]
    fn resolve_reports_upper_bound_and_writes_nothing() {
        let mut out = [0u8; 4];
        let location = Location::parse("../x?q").unwrap();
        // "/a/" + "../x" + "?q"
        assert_eq!(
            location.resolve_target("/a/b", &mut out),
            Err(BufferTooSmall { needed: 9 })
        );
        assert_eq!(out, [0; 4]);
    }

    #[test]
    fn origin_changes() {
        let l = Location::parse("//[::1]:80/x").unwrap();
        assert!(!l.changes_origin("[::1]", 80));
        assert!(!l.changes_origin("::1", 80));
        assert!(l.changes_origin("::2", 80));
        assert!(!Location::parse("x").unwrap().changes_origin("any", 1));
    }
}
