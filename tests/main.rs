//! One integration test binary over the real `auto-etl` executable.

mod suite;
mod support;
