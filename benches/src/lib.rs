//! Shared helpers for the ferrovs benchmarks (rule-set and packet generators).
