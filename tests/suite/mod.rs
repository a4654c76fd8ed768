//! Integration suites, one module per capability.

mod checkpoint;
mod ci;
mod ci_action;
mod ci_native;
mod classify;
mod corpus;
mod cycle;
mod docker;
mod faults;
mod locks;
mod output;
mod people;
mod recovery;
mod recovery_numbers;
mod scope;
mod scope_docker;
mod session;
