//! Integration suites, one module per capability.
mod checkpoint;
