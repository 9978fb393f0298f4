//! `ferrovs`: the command line, with Open vSwitch's habits.
//!
//! `ferrovs add-br br0 -- add-port br0 p1 tag=5` (ovs-vsctl), `ferrovs ofctl dump-flows br0`
//! (ovs-ofctl), `ferrovs appctl ofproto/trace br0 in_port=1` (ovs-appctl). Each command line
//! is one request to ferrovsd over `<rundir>/ferrovsd.ctl`; errors are one line on stderr and
//! a non-zero exit.

use anyhow::{anyhow, bail, Context, Result};
use ctl::rpc::{self, Request};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: ferrovs [--rundir DIR] [--timeout SECS] COMMAND [ARG...] [-- COMMAND [ARG...]]...

Bridge and port commands (as ovs-vsctl):
  add-br BR | del-br BR | list-br | br-exists BR
  add-port BR PORT [COLUMN=VALUE]... | del-port [BR] PORT | list-ports BR
  set|get|clear|list TABLE RECORD COLUMN[:KEY][=VALUE]...   (Bridge, Port, Interface)
  set-controller BR TARGET... | get-controller BR | del-controller BR
  set-fail-mode BR standalone|secure | show
Flow commands (as ovs-ofctl):
  ofctl add-flow BR FLOW | ofctl add-flows [--bundle] BR FILE|- | ofctl mod-flows [--strict] BR FLOW
  ofctl del-flows [--strict] BR [FLOW] | ofctl dump-flows BR [FLOW] | ofctl dump-ports BR | ofctl show BR
Inspection (as ovs-appctl):
  appctl ofproto/trace BR FLOW | appctl dpctl/dump-flows | appctl dpctl/del-flows
  appctl pmd-stats-show | appctl fdb/show BR | appctl tnl/arp/show | appctl ovs/route/show";

fn main() {
    if let Err(e) = run() {
        eprintln!("ferrovs: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut rundir = PathBuf::from(std::env::var("FERROVS_RUNDIR").unwrap_or_else(|_| "/run/ferrovs".into()));
    let mut timeout = 30u64;
    loop {
        match args.first().map(String::as_str) {
            Some("--rundir") if args.len() > 1 => {
                rundir = PathBuf::from(args.remove(1));
                args.remove(0);
            }
            Some(a) if a.starts_with("--rundir=") => {
                rundir = PathBuf::from(&a["--rundir=".len()..]);
                args.remove(0);
            }
            Some("--timeout" | "-t") if args.len() > 1 => {
                timeout = args.remove(1).parse().context("--timeout takes a number of seconds")?;
                args.remove(0);
            }
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return Ok(());
            }
            Some("-V" | "--version") => {
                println!("ferrovs {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            _ => break,
        }
    }
    if args.is_empty() {
        bail!("missing command\n{USAGE}");
    }
    let (method, mut params) = match args[0].as_str() {
        "ofctl" | "appctl" => (args[0].clone(), args[1..].to_vec()),
        _ => ("vsctl".to_owned(), args),
    };
    if method == "ofctl" {
        inline_flow_file(&mut params)?;
    }
    let reply = call(&rundir, &Request { id: 1, method, params }, timeout)?;
    if let Some(e) = reply.error {
        bail!("{e}");
    }
    print!("{}", reply.result.unwrap_or_default());
    Ok(())
}

/// `ofctl add-flows BR FILE`: the daemon gets the file's contents, read here (`-`: stdin).
fn inline_flow_file(params: &mut [String]) -> Result<()> {
    let words: Vec<usize> = (0..params.len()).filter(|i| !params[*i].starts_with("--")).collect();
    if params.get(words.first().copied().unwrap_or(usize::MAX)).map(String::as_str) != Some("add-flows") {
        return Ok(());
    }
    let Some(&file_idx) = words.get(2) else {
        bail!("'add-flows' command requires a bridge and a file argument");
    };
    let path = &params[file_idx];
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("reading flows from stdin")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("{path}: cannot read"))?
    };
    params[file_idx] = text;
    Ok(())
}

fn call(rundir: &std::path::Path, req: &Request, timeout: u64) -> Result<rpc::Reply> {
    let path = rundir.join("ferrovsd.ctl");
    let mut conn = UnixStream::connect(&path)
        .map_err(|e| anyhow!("cannot connect to ferrovsd at {} ({e}); is it running?", path.display()))?;
    conn.set_read_timeout(Some(Duration::from_secs(timeout)))?;
    conn.write_all(&rpc::encode_request(req))?;
    let mut line = Vec::new();
    BufReader::new(conn).read_until(b'\n', &mut line).context("no reply from ferrovsd")?;
    if line.is_empty() {
        bail!("ferrovsd closed the connection without replying");
    }
    rpc::decode_reply(line.trim_ascii_end()).map_err(|e| anyhow!("bad reply from ferrovsd: {e}"))
}
