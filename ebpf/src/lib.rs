//! ferrovs XDP programs and their loader (not yet written; see issue 4).
