//! A minimal `log` backend for ferrovsd: one line per record, with a timestamp, to stderr or
//! to the `--log-file`.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

struct Logger {
    file: Option<Mutex<File>>,
    level: log::LevelFilter,
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let line = format!(
            "{}.{:03}|{}|{}|{}\n",
            t.as_secs(),
            t.subsec_millis(),
            record.level(),
            record.target(),
            record.args()
        );
        match &self.file {
            Some(f) => {
                let mut f = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let _ = f.write_all(line.as_bytes());
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

/// Installs the logger; `path` appends to a file instead of stderr.
pub fn init(path: Option<&std::path::Path>, level: log::LevelFilter) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(p)?)),
        None => None,
    };
    let logger = Box::leak(Box::new(Logger { file, level }));
    log::set_logger(logger).map_err(|e| std::io::Error::other(e.to_string()))?;
    log::set_max_level(level);
    Ok(())
}
