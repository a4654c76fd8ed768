//! Integration suites, one module per capability.

mod ci;
mod cycle;
mod docker;
