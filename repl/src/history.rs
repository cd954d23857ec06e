//! The history file: one entry per line (newlines inside an entry escaped), rewritten
//! after every command with every password masked — including passwords that only turned
//! out to be passwords later in the session. Created with mode 0600.

use std::path::{Path, PathBuf};

use crate::secrets::Secrets;

/// Entries kept in the file.
const LIMIT: usize = 2000;

/// The history of this and earlier sessions.
#[derive(Debug)]
pub struct History {
    path: Option<PathBuf>,
    earlier: Vec<String>,
    /// This session's entries as typed, and masked with `masked_with` passwords known.
    session: Vec<(String, String)>,
    masked_with: usize,
}

fn escape(entry: &str) -> String {
    entry.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

impl History {
    /// Loads `path` (a missing file is an empty history); `None` keeps history in memory.
    /// A file that exists but cannot be read is left alone: this session's history is then
    /// not saved rather than overwriting it.
    pub fn open(path: Option<PathBuf>) -> Self {
        let (path, earlier) = match path.as_deref().map(std::fs::read_to_string) {
            None => (None, Vec::new()),
            Some(Ok(text)) => (path, text.lines().map(unescape).collect()),
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => (path, Vec::new()),
            Some(Err(e)) => {
                eprintln!("xenpool: history not used ({e})");
                (None, Vec::new())
            }
        };
        History {
            path,
            earlier,
            session: Vec::new(),
            masked_with: 0,
        }
    }

    /// Entries from earlier sessions, oldest first.
    pub fn earlier(&self) -> &[String] {
        &self.earlier
    }

    /// Records an entry (masked as well as known now) and returns the masked text.
    pub fn add(&mut self, secrets: &Secrets, entry: &str) -> String {
        if secrets.count() != self.masked_with {
            self.remask(secrets);
        }
        let masked = secrets.redact(entry);
        self.session.push((entry.to_string(), masked.clone()));
        masked
    }

    /// Masks this session's entries again once more passwords are known.
    fn remask(&mut self, secrets: &Secrets) {
        for (raw, masked) in &mut self.session {
            *masked = secrets.redact(raw);
        }
        self.masked_with = secrets.count();
    }

    /// Rewrites the file, masking every entry of this session with what is known now.
    pub fn save(&mut self, secrets: &Secrets) -> std::io::Result<()> {
        if secrets.count() != self.masked_with {
            self.remask(secrets);
        }
        let Some(path) = &self.path else {
            return Ok(());
        };
        let all: Vec<&String> = self
            .earlier
            .iter()
            .chain(self.session.iter().map(|(_, masked)| masked))
            .collect();
        let start = all.len().saturating_sub(LIMIT);
        let mut text = String::new();
        for e in &all[start..] {
            text.push_str(&escape(e));
            text.push('\n');
        }
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// `$XENPOOL_HISTORY`, else `~/.xenpool_history`.
pub fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".xenpool_history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_late_secrets_are_masked_on_save() {
        let dir = std::env::temp_dir().join(format!("xenpool-history-{}", std::process::id()));
        let path = dir.join("h");
        let secrets = Secrets::default();
        let mut h = History::open(Some(path.clone()));
        h.add(&secrets, "let pw = \"later-known\";");
        h.add(&secrets, "if true {\n  print(\"a\\\\b\")\n}");
        secrets.remember("later-known");
        h.save(&secrets).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("later-known"), "{text}");
        let again = History::open(Some(path));
        assert_eq!(again.earlier()[0], "let pw = \"***\";");
        assert_eq!(again.earlier()[1], "if true {\n  print(\"a\\\\b\")\n}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
