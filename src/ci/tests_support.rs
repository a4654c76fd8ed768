//! Helpers for the observers' unit tests.

use crate::cycle::events::Observer;
use crate::report::Report;
use std::sync::{Arc, Mutex};

/// A writer whose bytes the test can read afterwards.
#[derive(Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Feeds `o` the events of `report`, then finishes it.
pub fn feed(o: &mut dyn Observer, report: &Report) {
    for e in super::replay(report) {
        o.event(&e);
    }
    o.finish();
}
