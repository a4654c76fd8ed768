//! Integration suites, one module per capability.

mod checkpoint;
mod ci;
mod classify;
mod corpus;
mod cycle;
mod docker;
mod faults;
mod recovery;
mod session;
