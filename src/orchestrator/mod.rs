//! Step runner.
