//! The runtime (to come).
