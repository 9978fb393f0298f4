//! Compiles the XDP programs in `bpf/` with clang (BPF target, `-g` so that maps carry BTF) into
//! `OUT_DIR`, where `src/lib.rs` embeds them. `CLANG` overrides the compiler (default `clang-19`).

use std::path::PathBuf;
use std::process::Command;

/// The programs in `bpf/`, each compiled to `OUT_DIR/<name>.o`.
const PROGRAMS: &[&str] = &["xdp_steer"];

fn main() {
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang-19".to_owned());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let arch_include = format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH);
    for prog in PROGRAMS {
        let src = format!("bpf/{prog}.c");
        println!("cargo:rerun-if-changed={src}");
        let obj = out.join(format!("{prog}.o"));
        let status = Command::new(&clang)
            .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror", &arch_include, "-c", &src, "-o"])
            .arg(&obj)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("{clang} failed ({s}) compiling {src}; it needs libbpf-dev (bpf/bpf_helpers.h)"),
            Err(e) => panic!(
                "cannot run {clang} ({e}): the eBPF programs need clang 19 (Debian package clang-19, \
                 and libbpf-dev for bpf/bpf_helpers.h); or set CLANG to another clang with the BPF target"
            ),
        }
    }
    println!("cargo:rerun-if-env-changed=CLANG");
}
