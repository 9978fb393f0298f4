//! Process plumbing for ferrovsd: daemonizing (`--detach`), the pidfile, SIGTERM/SIGINT
//! handling that only sets a flag, and giving freed heap back to the system. Every `unsafe`
//! block of the ctl crate is here.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGTERM/SIGINT handlers that make [`stop_requested`] true; ignores SIGPIPE.
pub fn install_signal_handlers() -> io::Result<()> {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        if unsafe { libc::signal(sig, handler) } == libc::SIG_ERR {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: ignoring SIGPIPE has no preconditions; writes to closed sockets then return EPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    Ok(())
}

/// Whether SIGTERM or SIGINT arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Forks into the background: the parent exits once the child calls the returned function
/// (ready) or exits with 1 if the child dies first. Returns in the child only.
pub fn detach() -> io::Result<impl FnOnce()> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two c_ints for pipe to fill.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fork has no memory-safety preconditions here: the process is single-threaded
    // at this point (called before any thread is spawned).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid > 0 {
        // Parent: wait for the child's readiness byte.
        let mut b = [0u8; 1];
        // SAFETY: reading one byte into a valid one-byte buffer from our pipe's read end.
        let n = unsafe {
            libc::close(fds[1]);
            libc::read(fds[0], b.as_mut_ptr().cast(), 1)
        };
        std::process::exit(i32::from(n != 1));
    }
    // SAFETY: child: closing the read end we own and starting a new session.
    unsafe {
        libc::close(fds[0]);
        libc::setsid();
    }
    let ready_fd = fds[1];
    Ok(move || {
        // SAFETY: writing one byte from a valid buffer to our pipe's write end, then closing it.
        unsafe {
            libc::write(ready_fd, b"R".as_ptr().cast(), 1);
            libc::close(ready_fd);
        }
    })
}

/// Writes our pid to `path`.
pub fn write_pidfile(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, format!("{}\n", std::process::id()))
}

/// Returns the free pages of every malloc arena to the system (after a large bundle, whose
/// staged flow_mods the connection thread's arena would otherwise keep).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}
