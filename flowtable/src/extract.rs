//! Flow key extraction from Ethernet frames (placeholder: being written).
