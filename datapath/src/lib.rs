//! ferrovs fast path: poll threads, the exact-match cache and the megaflow cache (not yet written; see issue 4).
