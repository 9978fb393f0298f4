//! The control socket's protocol: newline-delimited JSON-RPC between `ferrovs` and `ferrovsd`.
//!
//! Request: `{"id": 1, "method": "vsctl" | "ofctl" | "appctl", "params": ["add-br", "br0"]}`.
//! Reply: `{"id": 1, "result": "text to print"}` or `{"id": 1, "error": "one line"}`.
//! Lines are bounded ([`MAX_LINE`]); anything malformed gets an error reply, never a crash.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest request line accepted (an `add-flows` file travels in one request).
pub const MAX_LINE: usize = 64 << 20;

/// A request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Echoed in the reply.
    pub id: u64,
    /// `vsctl`, `ofctl` or `appctl`.
    pub method: String,
    /// The command words.
    pub params: Vec<String>,
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The request's id (0 if it could not be read).
    pub id: u64,
    /// Output on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A request line that could not be understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RpcError {
    /// Not a JSON-RPC request.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Longer than [`MAX_LINE`].
    #[error("request longer than {MAX_LINE} bytes")]
    TooLong,
}

/// Decodes one request line.
pub fn decode_request(line: &[u8]) -> Result<Request, RpcError> {
    if line.len() > MAX_LINE {
        return Err(RpcError::TooLong);
    }
    serde_json::from_slice(line).map_err(|e| RpcError::Malformed(e.to_string()))
}

/// Encodes a reply as one line (newline included).
pub fn encode_reply(reply: &Reply) -> Vec<u8> {
    let mut v =
        serde_json::to_vec(reply).unwrap_or_else(|_| br#"{"id":0,"error":"internal: reply not encodable"}"#.to_vec());
    v.push(b'\n');
    v
}

/// Encodes a request as one line.
pub fn encode_request(req: &Request) -> Vec<u8> {
    let mut v = serde_json::to_vec(req).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Decodes a reply line.
pub fn decode_reply(line: &[u8]) -> Result<Reply, RpcError> {
    serde_json::from_slice(line).map_err(|e| RpcError::Malformed(e.to_string()))
}

/// The reply to a line: `handle` runs for well-formed requests.
pub fn answer(line: &[u8], handle: impl FnOnce(&Request) -> Result<String, String>) -> Reply {
    match decode_request(line) {
        Ok(req) => match handle(&req) {
            Ok(out) => Reply { id: req.id, result: Some(out), error: None },
            Err(e) => Reply { id: req.id, result: None, error: Some(e) },
        },
        Err(e) => Reply { id: 0, result: None, error: Some(e.to_string()) },
    }
}

/// Fuzz entry point shared by the `control_rpc` target and the corpus replay test: any line
/// gets a reply (an error for garbage), and a request line is also run through the ovs-vsctl
/// command language against an empty configuration.
#[doc(hidden)]
pub fn fuzz_rpc(data: &[u8]) {
    let reply = answer(data, |req| {
        if req.method == "vsctl" {
            crate::vsctl::run(&crate::config::Config::default(), &req.params)
                .map(|(_, out)| out)
                .map_err(|e| e.to_string())
        } else {
            Ok(String::new())
        }
    });
    assert!(reply.result.is_some() != reply.error.is_some());
    let _ = encode_reply(&reply);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_garbage() {
        let req = Request { id: 7, method: "vsctl".into(), params: vec!["list-br".into()] };
        let line = encode_request(&req);
        assert_eq!(decode_request(line.trim_ascii_end()).unwrap(), req);
        let r = answer(b"{\"id\": 3", |_| Ok(String::new()));
        assert!(r.error.unwrap().starts_with("malformed"));
        let r = answer(&line, |q| Ok(q.params.join(" ")));
        assert_eq!(r.result.as_deref(), Some("list-br"));
        assert_eq!(decode_reply(encode_reply(&r).trim_ascii_end()).unwrap(), r);
    }
}
