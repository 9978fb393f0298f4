//! Replays every seed/finding in `fuzz/corpus/{of10_decode,of13_decode,of_stream}` through the
//! same entry points the fuzz targets use, so corpus files are regression tests.

use std::path::Path;

fn replay(target: &str, entry: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut n = 0;
    for entry_res in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry_res.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        entry(&data);
        n += 1;
    }
    assert!(n >= 20, "{target}: only {n} corpus files");
}

#[test]
fn of10_decode_corpus() {
    replay("of10_decode", ofagent::fuzz_of10);
}

#[test]
fn of13_decode_corpus() {
    replay("of13_decode", ofagent::fuzz_of13);
}

#[test]
fn of_stream_corpus() {
    replay("of_stream", ofagent::fuzz_stream);
}
