//! GitLab CI: a collapsible log section per iteration.

use crate::cycle::events::Event;
use std::io::Write;

/// Writes GitLab section markers for the run's iterations.
pub struct GitlabObserver {
    out: Box<dyn Write + Send>,
    now: Box<dyn Fn() -> i64 + Send>,
    open: Option<u32>,
}

impl GitlabObserver {
    pub fn new(out: Box<dyn Write + Send>) -> GitlabObserver {
        GitlabObserver::with_clock(out, Box::new(|| chrono::Utc::now().timestamp()))
    }

    /// With a clock giving Unix seconds (for tests).
    pub fn with_clock(
        out: Box<dyn Write + Send>,
        now: Box<dyn Fn() -> i64 + Send>,
    ) -> GitlabObserver {
        GitlabObserver {
            out,
            now,
            open: None,
        }
    }

    fn end(&mut self) {
        if let Some(n) = self.open.take() {
            let ts = (self.now)();
            let _ = write!(self.out, "\x1b[0Ksection_end:{ts}:iteration_{n}\r\x1b[0K\n");
            let _ = self.out.flush();
        }
    }
}

impl crate::cycle::events::Observer for GitlabObserver {
    fn event(&mut self, event: &Event) {
        match event {
            Event::IterationStart { iteration } => {
                self.end();
                let ts = (self.now)();
                let _ = write!(
                    self.out,
                    "\x1b[0Ksection_start:{ts}:iteration_{iteration}[collapsed=true]\r\x1b[0KIteration {iteration}\n"
                );
                let _ = self.out.flush();
                self.open = Some(*iteration);
            }
            Event::IterationEnd { .. } | Event::RunEnd { .. } => self.end(),
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;
    use crate::ci::tests_support::{feed, SharedBuf};

    #[test]
    fn one_collapsed_section_per_iteration() {
        let buf = SharedBuf::default();
        let mut o = GitlabObserver::with_clock(Box::new(buf.clone()), Box::new(|| 1700000000));
        feed(&mut o, &sample::report());
        let out = buf.text();
        assert!(out.starts_with(
            "\x1b[0Ksection_start:1700000000:iteration_1[collapsed=true]\r\x1b[0KIteration 1\n\x1b[0Ksection_end:1700000000:iteration_1\r\x1b[0K\n"
        ), "{out:?}");
        assert_eq!(out.matches("section_start").count(), 3);
        assert_eq!(out.matches("section_end").count(), 3);
    }
}
