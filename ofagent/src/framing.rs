//! Splits an OpenFlow byte stream into whole messages using the 8-byte header's length.
//!
//! A length below 8 can never be a message: the stream is garbage from then on and the
//! connection must be closed, so the framer turns sticky-broken. The buffer is bounded so a
//! peer cannot make us hold more than one maximal message plus one read's worth of bytes.

use thiserror::Error;

use crate::header::HEADER_LEN;

/// Default bound on buffered bytes: two maximal (65535-byte) messages.
pub const DEFAULT_MAX_BUFFER: usize = 2 * 65536;

/// Why the stream cannot go on; the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FramingError {
    /// A header announced a length below 8 bytes.
    #[error("OpenFlow header length {0} is below 8")]
    BadLength(u16),
    /// More bytes were pushed than the buffer bound allows without draining messages.
    #[error("receive buffer over {0} bytes")]
    BufferFull(usize),
}

/// Incremental message splitter.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
    max: usize,
    broken: Option<FramingError>,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BUFFER)
    }
}

impl Framer {
    /// A framer holding at most `max_buffer` undelivered bytes.
    pub fn new(max_buffer: usize) -> Self {
        Framer { buf: Vec::new(), start: 0, max: max_buffer, broken: None }
    }

    /// Appends received bytes. Fails (and stays failed) if the bound would be exceeded.
    pub fn push(&mut self, data: &[u8]) -> Result<(), FramingError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.len() + data.len() > self.max {
            let e = FramingError::BufferFull(self.max);
            self.broken = Some(e);
            return Err(e);
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Bytes buffered but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete message (header included), `Ok(None)` if more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, FramingError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        let pending = &self.buf[self.start..];
        if pending.len() < HEADER_LEN {
            return Ok(None);
        }
        let length = u16::from_be_bytes([pending[2], pending[3]]);
        if usize::from(length) < HEADER_LEN {
            let e = FramingError::BadLength(length);
            self.broken = Some(e);
            return Err(e);
        }
        let length = usize::from(length);
        if pending.len() < length {
            return Ok(None);
        }
        let begin = self.start;
        self.start += length;
        Ok(Some(&self.buf[begin..begin + length]))
    }
}
