//! Compiles the packet-rate harness's XDP programs (`bpf/*.bpf.c`) with clang into `OUT_DIR`.
//! Without clang the object is left empty and the `rate` binary says so at run time, so that
//! the criterion benches and the rest of the workspace still build on machines without it.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let src = "bpf/rate.bpf.c";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang-19".to_owned());
    let obj = out.join("rate.bpf.o");
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-I/usr/include/x86_64-linux-gnu", "-c", src, "-o"])
        .arg(&obj)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed to compile {src}: {s}"),
        Err(e) => {
            println!("cargo:warning={clang} not runnable ({e}): the rate harness will have no XDP programs");
            if let Err(e) = std::fs::write(&obj, []) {
                panic!("cannot write {}: {e}", obj.display());
            }
        }
    }
}
