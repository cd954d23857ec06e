//! Where the shell writes: the terminal, or a buffer (transcript tests and embedding).

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The shell's output channel and how to style it.
#[derive(Clone, Debug, Default)]
pub struct Output {
    capture: Option<Arc<Mutex<String>>>,
    /// Colour and progress bars (only on a terminal, never with `NO_COLOR`).
    pub colour: bool,
}

impl Output {
    /// Writes to standard output; colour when it is a terminal and not disabled.
    pub fn terminal(no_colour: bool) -> Self {
        let colour = !no_colour && console::colors_enabled();
        console::set_colors_enabled(colour);
        console::set_colors_enabled_stderr(colour && console::colors_enabled_stderr());
        Output {
            capture: None,
            colour,
        }
    }

    /// Collects everything in memory, without colour.
    pub fn captured() -> Self {
        Output {
            capture: Some(Arc::new(Mutex::new(String::new()))),
            colour: false,
        }
    }

    /// True when writing to a buffer.
    pub fn is_captured(&self) -> bool {
        self.capture.is_some()
    }

    /// Writes `text` followed by a newline.
    pub fn line(&self, text: &str) {
        match &self.capture {
            Some(buf) => {
                let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
                b.push_str(text);
                b.push('\n');
            }
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }

    /// A diagnostic: standard error on a terminal, the buffer when capturing.
    pub fn note(&self, text: &str) {
        match &self.capture {
            Some(_) => self.line(text),
            None => eprintln!("{text}"),
        }
    }

    /// Takes what was captured so far.
    pub fn take(&self) -> String {
        self.capture
            .as_ref()
            .map(|b| std::mem::take(&mut *b.lock().unwrap_or_else(|p| p.into_inner())))
            .unwrap_or_default()
    }
}
