//! ferrovsd's link watcher: a thread that listens to the kernel's link notifications
//! (rtnetlink `RTMGRP_LINK`) and, on any change and at least once a second, lets the running
//! switch close ports whose device vanished and reopen those whose device is back
//! ([`Runtime::refresh_devices`]).

use crate::switch::Runtime;
use datapath::sys;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long the watcher waits for a notification before checking every device anyway.
const CHECK_MS: i32 = 1000;

/// Runs until `stop` is set.
pub fn run(rt: &Mutex<Runtime>, stop: &AtomicBool) {
    let monitor = sys::link_monitor()
        .map_err(|e| log::warn!("link notifications unavailable ({e}); checking devices every second"))
        .ok();
    let mut events = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        events.clear();
        match &monitor {
            Some(fd) => {
                if let Err(e) = sys::recv_link_events(fd.as_raw_fd(), CHECK_MS, &mut events) {
                    log::debug!("link notifications: {e}");
                }
            }
            None => std::thread::sleep(Duration::from_millis(CHECK_MS.unsigned_abs().into())),
        }
        let gone: Vec<u32> = events.iter().filter(|e| e.deleted).map(|e| e.ifindex).collect();
        rt.lock().unwrap_or_else(PoisonError::into_inner).refresh_devices(&gone);
    }
}
