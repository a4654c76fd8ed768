//! Integration suites, one module per capability.
