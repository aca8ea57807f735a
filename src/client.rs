//! The client session (being written).
