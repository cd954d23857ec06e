//! CPU feature vectors as xapi writes them: 32-bit words in hex joined by `-`
//! (`1fcbfbff-f7fa3223-…`), empty meaning unknown (pool-operations.md §(i)).

/// Parses a feature vector; `None` when empty (unknown) or not hex words.
pub fn parse(text: &str) -> Option<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    text.split('-')
        .map(|w| u32::from_str_radix(w, 16).ok())
        .collect()
}

/// Writes a feature vector back in xapi's form.
pub fn render(words: &[u32]) -> String {
    words
        .iter()
        .map(|w| format!("{w:08x}"))
        .collect::<Vec<_>>()
        .join("-")
}

/// Word-by-word AND, zero-extending the shorter vector (xenopsd's levelling).
pub fn level(a: &[u32], b: &[u32]) -> Vec<u32> {
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).copied().unwrap_or(0) & b.get(i).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_parse_render_and_level() {
        let pool = parse("0000000f-80000000").unwrap();
        let mine = parse("00000005").unwrap();
        assert_eq!(render(&level(&pool, &mine)), "00000005-00000000");
        assert_eq!(parse(""), None);
        assert_eq!(parse("zz"), None);
    }
}
