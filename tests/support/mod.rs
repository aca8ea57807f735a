//! Shared by the integration tests.
#![allow(dead_code)]

pub(crate) mod spec_cases;

use sansse::parse::Limits;

/// Limits large enough that no table case hits them.
pub(crate) const WIDE_LIMITS: Limits = Limits {
    max_id_len: 1024,
    max_event_type_len: 1024,
    max_comment_len: 64,
};
