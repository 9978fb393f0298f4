//! `ferrovs`: the command line. Today it checks ovs-ofctl flow syntax; the daemon commands
//! arrive with issue 4.

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") => {
            println!("ferrovs {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(other) => bail!("unknown command '{other}' (the daemon commands are not written yet)"),
        None => Err(anyhow::anyhow!("usage: ferrovs COMMAND [ARG...]")).context("no command given"),
    }
}
