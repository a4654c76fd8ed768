//! Integration suites, one module per capability.
mod classify;
