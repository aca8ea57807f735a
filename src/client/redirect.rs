//! Where an attempt sends its request: the route a redirect chain has reached, how a `Location`
//! is followed into the redirect buffer, and the request head written for the route.

use heapless::Vec;

use crate::http::{Location, Request};

use super::{ClientConfig, CloseReason, MAX_HEADERS, RequestBuildError};

/// Where the current attempt sends its request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Route {
    /// Set once a redirect was followed: host and target lie in the redirect buffer.
    pub(super) redirected: Option<Redirected>,
    /// A redirect turned the rest of the attempt into a `GET` without body.
    pub(super) get_only: bool,
    /// Redirects followed in this attempt.
    pub(super) redirects: u8,
}

/// Where in the redirect buffer a followed redirect left its host and target.
#[derive(Clone, Copy, Debug)]
pub(super) struct Redirected {
    host_len: usize,
    target_len: usize,
    port: u16,
    cross_origin: bool,
}

impl Route {
    pub(super) const CONFIGURED: Self = Self {
        redirected: None,
        get_only: false,
        redirects: 0,
    };

    pub(super) fn cross_origin(&self) -> bool {
        self.redirected.is_some_and(|r| r.cross_origin)
    }
}

/// Host, port and target of `route`.
pub(super) fn route_parts<'r>(
    config: &ClientConfig<'r>,
    route: &Route,
    redirect: &'r [u8],
) -> (&'r str, u16, &'r str) {
    match route.redirected {
        None => (config.host, config.port, config.target),
        Some(r) => {
            let host = redirect.get(..r.host_len).unwrap_or_default();
            let target = redirect
                .get(r.host_len..r.host_len + r.target_len)
                .unwrap_or_default();
            (text(host), r.port, text(target))
        }
    }
}

/// Resolves a redirect against the current route and stores its host and target in the
/// redirect buffer; `scratch` (the transmit buffer, idle while the connection is dropped)
/// holds the resolved target on the way.
pub(super) fn follow(
    config: &ClientConfig<'_>,
    route: &Route,
    redirect: &mut [u8],
    scratch: &mut [u8],
    location: Location<'_>,
) -> Result<Route, CloseReason> {
    if !location.is_supported() {
        return Err(CloseReason::UnsupportedRedirect);
    }
    let (_, old_port, old_target) = route_parts(config, route, redirect);
    let target_len = location
        .resolve_target(old_target, scratch)
        .map_err(|e| CloseReason::RedirectTooLong { needed: e.needed })?
        .len();
    let port = location.port().unwrap_or(old_port);
    // A location without a host keeps the current one; if that already lies in the redirect
    // buffer it stays where it is.
    let (new_host, host_len) = match (location.host(), route.redirected) {
        (Some(host), _) => (Some(host), host.len()),
        (None, Some(r)) => (None, r.host_len),
        (None, None) => (Some(config.host), config.host.len()),
    };
    let needed = host_len + target_len;
    if needed > redirect.len() {
        return Err(CloseReason::RedirectTooLong { needed });
    }
    if let Some(host) = new_host {
        // `host` borrows the head buffer or the config, never the redirect buffer.
        redirect[..host_len].copy_from_slice(host.as_bytes());
    }
    redirect[host_len..needed].copy_from_slice(&scratch[..target_len]);
    let host = text(&redirect[..host_len]);
    let cross_origin = !same_host(host, config.host) || port != config.port;
    Ok(Route {
        redirected: Some(Redirected {
            host_len,
            target_len,
            port,
            cross_origin,
        }),
        get_only: route.get_only,
        redirects: route.redirects,
    })
}

/// Hosts compare case-insensitively, brackets around IPv6 literals ignored.
fn same_host(a: &str, b: &str) -> bool {
    unbracket(a).eq_ignore_ascii_case(unbracket(b))
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Everything a request is written from.
pub(super) struct RequestParts<'r> {
    pub(super) config: &'r ClientConfig<'r>,
    pub(super) method: &'r str,
    pub(super) host: &'r str,
    pub(super) port: u16,
    pub(super) target: &'r str,
    pub(super) id: &'r str,
    pub(super) extra: &'r [(&'r str, &'r str)],
    pub(super) body: Option<&'r [u8]>,
    /// The request goes to another origin than the configured one: sensitive headers stay out.
    pub(super) cross_origin: bool,
}

/// Writes the request head (the body is sent from where it lies) into `out`: the configured
/// headers, then the per-attempt ones, both without the sensitive ones on a cross-origin
/// request. Withholding them here, where every shell's request is written, means no shell can
/// forget to.
pub(super) fn write_request(
    out: &mut [u8],
    parts: RequestParts<'_>,
) -> Result<usize, RequestBuildError> {
    let mut headers = Vec::<(&str, &str), MAX_HEADERS>::new();
    let sent = parts.config.headers.iter().chain(parts.extra);
    for &header in
        sent.filter(|(name, _)| !(parts.cross_origin && parts.config.is_sensitive_header(name)))
    {
        headers
            .push(header)
            .map_err(|_| RequestBuildError::TooManyHeaders { max: MAX_HEADERS })?;
    }
    let mut request = Request::get(parts.host, parts.target)
        .method(parts.method)
        .port(parts.port)
        .last_event_id(parts.id)
        .headers(&headers);
    if let Some(body) = parts.body {
        request = request.body(body);
    }
    request.write_head(out).map_err(RequestBuildError::Write)
}

/// The id as a header value, or `""` (no header) if it holds a control character a header
/// cannot carry. The parser accepts any id without NUL, CR and LF, but a request must not
/// fail because of what the server sent.
pub(super) fn header_safe(id: &str) -> &str {
    let safe = id
        .bytes()
        .all(|b| matches!(b, b'\t' | b' '..=b'~' | 0x80..=0xFF));
    if safe { id } else { "" }
}

/// Bytes copied from a `&str`; the fallback is unreachable.
fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_controls_are_not_sent() {
        assert_eq!(header_safe("41"), "41");
        assert_eq!(header_safe("tab\there é"), "tab\there é");
        assert_eq!(header_safe("a\u{1}b"), "");
        assert_eq!(header_safe("del\u{7f}"), "");
    }

    #[test]
    fn hosts_compare_without_case_or_brackets() {
        assert!(same_host("Example.COM", "example.com"));
        assert!(same_host("[::1]", "::1"));
        assert!(!same_host("example.com", "example.org"));
    }

    #[test]
    fn relative_redirect_keeps_the_host_in_place() {
        let config = ClientConfig::new("example.com", "/a/b?q").with_port(8080);
        let mut redirect = [0u8; 32];
        let mut scratch = [0u8; 64];
        let first = Location::parse("http://h.test:81/x/y").unwrap();
        let route = follow(
            &config,
            &Route::CONFIGURED,
            &mut redirect,
            &mut scratch,
            first,
        )
        .unwrap();
        assert_eq!(
            route_parts(&config, &route, &redirect),
            ("h.test", 81, "/x/y")
        );
        assert!(route.cross_origin());

        let second = Location::parse("z?1").unwrap();
        let route = follow(&config, &route, &mut redirect, &mut scratch, second).unwrap();
        assert_eq!(
            route_parts(&config, &route, &redirect),
            ("h.test", 81, "/x/z?1")
        );

        let home = Location::parse("/").unwrap();
        let route = follow(
            &config,
            &Route::CONFIGURED,
            &mut redirect,
            &mut scratch,
            home,
        )
        .unwrap();
        assert_eq!(
            route_parts(&config, &route, &redirect),
            ("example.com", 8080, "/")
        );
        assert!(!route.cross_origin());
    }

    #[test]
    fn redirect_that_does_not_fit_says_how_much_it_needs() {
        let config = ClientConfig::new("example.com", "/");
        let mut redirect = [0u8; 8];
        let mut scratch = [0u8; 64];
        let location = Location::parse("http://host.test/long/path").unwrap();
        let error = follow(
            &config,
            &Route::CONFIGURED,
            &mut redirect,
            &mut scratch,
            location,
        );
        assert_eq!(
            error.unwrap_err(),
            CloseReason::RedirectTooLong { needed: 19 }
        );
        let mut tiny_scratch = [0u8; 4];
        let location = Location::parse("/long/path").unwrap();
        let error = follow(
            &config,
            &Route::CONFIGURED,
            &mut redirect,
            &mut tiny_scratch,
            location,
        );
        assert_eq!(
            error.unwrap_err(),
            CloseReason::RedirectTooLong { needed: 10 }
        );
    }
}
