//! Fallbacks: what to use when an operation failed — a default value, an
//! alternative, or the last good value.

use std::sync::Mutex;

/// Where a fallback value comes from.
pub enum FallbackSource<T> {
    Default(T),
    Alternative(Box<dyn Fn() -> T + Send + Sync>),
    /// The last value the primary produced; none before its first success.
    Cached,
}

/// Which value was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Served {
    Primary,
    Default,
    Alternative,
    Cached,
}

/// Applies a [`FallbackSource`] to results, remembering the last good one.
pub struct Fallback<T> {
    source: FallbackSource<T>,
    last_good: Mutex<Option<T>>,
}

impl<T: Clone> Fallback<T> {
    pub fn new(source: FallbackSource<T>) -> Fallback<T> {
        Fallback {
            source,
            last_good: Mutex::new(None),
        }
    }

    /// The primary's value when `result` is `Ok` (and remembered), else the
    /// fallback's; the error comes back only when there is nothing to serve
    /// (a cache still empty).
    pub fn resolve<E>(&self, result: Result<T, E>) -> Result<(T, Served), E> {
        let mut last = self.last_good.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(v) => {
                *last = Some(v.clone());
                Ok((v, Served::Primary))
            }
            Err(e) => match &self.source {
                FallbackSource::Default(v) => Ok((v.clone(), Served::Default)),
                FallbackSource::Alternative(f) => Ok((f(), Served::Alternative)),
                FallbackSource::Cached => match last.as_ref() {
                    Some(v) => Ok((v.clone(), Served::Cached)),
                    None => Err(e),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_serves_its_value() {
        let ok: Result<u32, &str> = Ok(5);
        let err: Result<u32, &str> = Err("down");
        let default = Fallback::new(FallbackSource::Default(0));
        let alt = Fallback::new(FallbackSource::Alternative(Box::new(|| 9)));
        let cached = Fallback::new(FallbackSource::Cached);
        type Row<'a> = (
            &'a Fallback<u32>,
            Result<u32, &'a str>,
            Result<(u32, Served), &'a str>,
        );
        let table: Vec<Row> = vec![
            (&default, err, Ok((0, Served::Default))),
            (&default, ok, Ok((5, Served::Primary))),
            (&alt, err, Ok((9, Served::Alternative))),
            (&cached, err, Err("down")),
            (&cached, ok, Ok((5, Served::Primary))),
            (&cached, err, Ok((5, Served::Cached))),
            (&cached, Ok(6), Ok((6, Served::Primary))),
            (&cached, err, Ok((6, Served::Cached))),
        ];
        for (i, (f, input, want)) in table.into_iter().enumerate() {
            assert_eq!(f.resolve(input), want, "row {i}");
        }
    }
}
