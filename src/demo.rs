//! Bundled demo pipeline.
