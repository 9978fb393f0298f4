//! ovs-ofctl flow syntax (placeholder: being written).
