//! The agent's own log.
