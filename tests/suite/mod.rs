//! Integration suites, one module per capability.

mod checkpoint;
mod ci;
mod cycle;
mod docker;
