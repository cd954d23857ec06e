//! The join pre-flight's report (written by the validator work).
