//! TODO-module: replay (being written).
