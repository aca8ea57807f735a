//! HTTP/1.1, just large enough for SSE.
