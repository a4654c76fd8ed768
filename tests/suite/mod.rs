//! Integration suites, one module per capability.

mod checkpoint;
mod ci;
mod classify;
mod cycle;
mod docker;
mod faults;
mod output;
mod recovery;
mod session;
