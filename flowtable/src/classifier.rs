//! The classifier (placeholder: being written).
