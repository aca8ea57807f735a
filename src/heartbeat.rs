//! TODO-module: heartbeat (being written).
