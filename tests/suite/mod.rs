//! Integration suites, one module per capability.

mod cycle;
mod faults;
