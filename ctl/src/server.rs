//! ferrovsd's control socket: `<rundir>/ferrovsd.ctl`, mode 0600, newline-delimited JSON-RPC
//! (see [`crate::rpc`]). Each connection is served by its own thread; requests are executed
//! one at a time against the [`Runtime`].

use crate::rpc::{self, Request, MAX_LINE};
use crate::switch::Runtime;
use crate::{appctl, ofctl, vsctl};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Most simultaneous control connections.
pub const MAX_CONNECTIONS: usize = 64;

/// Executes one request against the switch.
pub fn handle(rt_lock: &Mutex<Runtime>, req: &Request) -> Result<String, String> {
    let mut rt = rt_lock.lock().unwrap_or_else(PoisonError::into_inner);
    match req.method.as_str() {
        "vsctl" => {
            let (new, out) = vsctl::run(&rt.config, &req.params).map_err(|e| e.to_string())?;
            if new != rt.config {
                rt.apply_config(new, true)?;
                let (seq, synced) = (rt.cfg_seq, rt.of_synced.clone());
                drop(rt);
                if let Some(synced) = synced {
                    wait_synced(&synced, seq);
                }
            }
            Ok(out)
        }
        "ofctl" => ofctl::run(&mut rt, &req.params),
        "appctl" => appctl::run(&mut rt, &req.params),
        other => Err(format!("unknown method \"{other}\" (vsctl, ofctl, appctl)")),
    }
}

/// Waits (bounded) until the OpenFlow side has put configuration `seq` in force.
fn wait_synced(synced: &std::sync::atomic::AtomicU64, seq: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while synced.load(std::sync::atomic::Ordering::Acquire) < seq && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Binds the control socket (replacing a stale one) with mode 0600.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves connections until the listener fails.
pub fn serve(listener: &UnixListener, rt: &Arc<Mutex<Runtime>>) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        if active.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            let reply = rpc::Reply { id: 0, result: None, error: Some("too many control connections".into()) };
            let _ = conn.write_all(&rpc::encode_reply(&reply));
            continue;
        }
        active.fetch_add(1, Ordering::Relaxed);
        let (rt, active) = (Arc::clone(rt), Arc::clone(&active));
        std::thread::spawn(move || {
            serve_connection(conn, &rt);
            active.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

fn serve_connection(conn: UnixStream, rt: &Mutex<Runtime>) {
    let Ok(mut writer) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn.take(u64::MAX));
    let mut line = Vec::new();
    loop {
        line.clear();
        // Bounded read: a line longer than MAX_LINE ends the connection with an error.
        let Ok(n) = reader.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line) else { return };
        if n == 0 {
            return;
        }
        if line.len() > MAX_LINE {
            let reply = rpc::Reply { id: 0, result: None, error: Some(rpc::RpcError::TooLong.to_string()) };
            let _ = writer.write_all(&rpc::encode_reply(&reply));
            return;
        }
        let reply = rpc::answer(line.trim_ascii_end(), |req| handle(rt, req));
        if writer.write_all(&rpc::encode_reply(&reply)).is_err() {
            return;
        }
    }
}
