//! The join pre-flight (written by the validator work).
