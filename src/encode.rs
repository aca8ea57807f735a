//! TODO-module: encode (being written).
