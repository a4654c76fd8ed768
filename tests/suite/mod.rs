//! Integration suites, one module per capability.

mod checkpoint;
mod ci;
mod classify;
mod cycle;
mod docker;
mod faults;
mod recovery;
mod recovery_numbers;
mod session;
