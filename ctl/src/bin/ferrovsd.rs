//! `ferrovsd`: the ferrovs switch daemon.
//!
//! Restores bridges and ports from the configuration file, forwards packets in a poll thread,
//! serves the `ferrovs` CLI on `<rundir>/ferrovsd.ctl`, and OpenFlow on `<rundir>/<bridge>.mgmt`
//! and to the configured controllers.

use anyhow::{Context, Result};
use clap::Parser;
use ctl::switch::Runtime;
use ctl::{config, logger, openflow, process, server};
use datapath::poll::{self, PollContext};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(name = "ferrovsd", version, about = "ferrovs switch daemon")]
struct Args {
    /// Runtime directory (control socket, OpenFlow sockets).
    #[arg(long, env = "FERROVS_RUNDIR", default_value = "/run/ferrovs")]
    rundir: PathBuf,
    /// Configuration file.
    #[arg(long, env = "FERROVS_DB", default_value = "/var/lib/ferrovs/conf.json")]
    db: PathBuf,
    /// Log to this file instead of stderr.
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// Write the daemon's pid here (default: <rundir>/ferrovsd.pid).
    #[arg(long)]
    pidfile: Option<PathBuf>,
    /// Run in the background once ready.
    #[arg(long)]
    detach: bool,
    /// Log debug messages.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    // Load before anything else: a corrupt file stops the daemon and stays as it is.
    let cfg = config::store::load(&args.db).context("cannot start")?;
    let ready = if args.detach { Some(process::detach().context("cannot detach")?) } else { None };
    let level = if args.verbose { log::LevelFilter::Debug } else { log::LevelFilter::Info };
    logger::init(args.log_file.as_deref(), level).context("cannot open the log")?;
    process::install_signal_handlers().context("cannot install signal handlers")?;
    let pidfile = args.pidfile.clone().unwrap_or_else(|| args.rundir.join("ferrovsd.pid"));
    process::write_pidfile(&pidfile).with_context(|| format!("cannot write {}", pidfile.display()))?;

    let start = Instant::now();
    let mut rt = Runtime::new(args.db.clone());
    rt.restore(cfg);
    let rt = Arc::new(Mutex::new(rt));

    let stop = Arc::new(AtomicBool::new(false));
    let clock: Arc<dyn Fn() -> u64 + Send + Sync> = Arc::new(move || start.elapsed().as_millis() as u64);
    let (agent_tx, agent_rx) = std::sync::mpsc::channel();
    let ctx = {
        let rt = rt.lock().unwrap_or_else(PoisonError::into_inner);
        PollContext {
            state: Arc::clone(&rt.state),
            netdevs: Arc::clone(&rt.netdevs),
            pmd: Arc::clone(&rt.pmd),
            stop: Arc::clone(&stop),
            clock: Arc::clone(&clock),
            agent: Some(agent_tx.clone()),
        }
    };
    {
        let r = rt.lock().unwrap_or_else(PoisonError::into_inner);
        let shared = openflow::Shared::new(
            Arc::clone(&r.state),
            Arc::clone(&r.netdevs),
            Arc::clone(&r.pmd),
            Arc::clone(&clock),
            agent_tx,
        );
        drop(r);
        openflow::start(Arc::new(shared), Arc::clone(&rt), args.rundir.clone(), agent_rx);
    }
    let poller = std::thread::Builder::new()
        .name("pmd".into())
        .spawn(move || poll::run(&ctx))
        .context("cannot start the poll thread")?;

    // Routes and addresses for native tunnels (a failure only disables tunnels).
    let route_thread = {
        let rt = rt.lock().unwrap_or_else(PoisonError::into_inner);
        match ctl::tunnel::spawn(Arc::clone(&rt.state), Arc::clone(&stop)) {
            Ok(t) => Some(t),
            Err(e) => {
                log::error!("cannot read the routing table: {e}; tunnels will not work");
                None
            }
        }
    };

    let sock = args.rundir.join("ferrovsd.ctl");
    let listener = server::bind(&sock).with_context(|| format!("cannot listen on {}", sock.display()))?;
    {
        let rt = Arc::clone(&rt);
        std::thread::Builder::new()
            .name("ctl".into())
            .spawn(move || server::serve(&listener, &rt))
            .context("cannot start the control thread")?;
    }
    {
        let (rt, stop) = (Arc::clone(&rt), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("devwatch".into())
            .spawn(move || ctl::devwatch::run(&rt, &stop))
            .context("cannot start the link watcher")?;
    }
    log::info!("ferrovsd {} ready: control socket {}", env!("CARGO_PKG_VERSION"), sock.display());
    if let Some(ready) = ready {
        ready();
    }
    while !process::stop_requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
    log::info!("exiting on signal");
    stop.store(true, Ordering::SeqCst);
    let _ = poller.join();
    if let Some(t) = route_thread {
        let _ = t.join();
    }
    // Close every port now (AF_XDP ports detach their XDP program; the kernel would also do it
    // at exit, as the attachments are links of this process).
    let netdevs = Arc::clone(&rt.lock().unwrap_or_else(PoisonError::into_inner).netdevs);
    let closed = std::mem::take(&mut *netdevs.lock().unwrap_or_else(PoisonError::into_inner));
    log::info!("closing {} port(s)", closed.len());
    drop(closed);
    let _ = std::fs::remove_file(&sock);
    let bridges: Vec<String> =
        rt.lock().unwrap_or_else(PoisonError::into_inner).config.bridges.keys().cloned().collect();
    for b in bridges {
        let _ = std::fs::remove_file(args.rundir.join(format!("{b}.mgmt")));
    }
    let _ = std::fs::remove_file(&pidfile);
    Ok(())
}
