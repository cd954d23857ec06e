//! The `xenpool` shell: Rhai scripting and an interactive line editor over the xenpool
//! pool workflows, on a real pool or the embedded simulator.
//!
//! One module per concern: [`session`] evaluates entries on an engine whose functions
//! ([`functions`]) return the typed objects of [`objects`]; [`display`] prints them;
//! [`editor`], [`history`] and [`secrets`] make the interactive side; [`start`] connects.

pub mod cancel;
pub mod cli;
pub mod convert;
pub mod display;
pub mod editor;
pub mod errors;
pub mod functions;
pub mod help;
pub mod history;
pub mod hostbook;
pub mod join_report;
pub mod objects;
pub mod output;
pub mod progress;
pub mod secrets;
pub mod session;
pub mod start;
pub mod state;
