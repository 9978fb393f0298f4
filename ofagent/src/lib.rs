//! ferrovs OpenFlow agent: OpenFlow 1.0 and 1.3 codecs with Nicira extensions (being written; see issue 3).
