//! XML-RPC as xapi speaks it (docs/wire-protocol.md#envelopes, docs/wire-protocol.md#types), both
//! directions.
//!
//! Decoding goes straight from bytes into the caller's type: a serde `Deserializer` driven
//! by quick-xml's event reader over the input slice, so strings without escapes are
//! borrowed and no DOM or intermediate [`Value`] is built. The requested type drives the
//! leniency xapi needs (an untagged `<value>` is a string, but also an int when an int is
//! wanted).

use std::borrow::Cow;
use std::io::Write as _;

use indexmap::IndexMap;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, BytesText, Event};
use serde::Deserialize as _;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, IntoDeserializer, Visitor};

pub use super::xml_ser::to_xml;

use super::convert::{KeyDeserializer, enum_variant, in_member, wrong_type};
use super::value::parse_float;
use super::{Call, Format, Limits, ProtocolError, ProtocolErrorKind, Response, ResultSeed, Value};

type Result<T, E = ProtocolError> = std::result::Result<T, E>;

fn malformed(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::new(ProtocolErrorKind::Malformed, msg)
}

fn bad_envelope(msg: impl Into<String>) -> ProtocolError {
    ProtocolError::new(ProtocolErrorKind::BadEnvelope, msg)
}

fn describe_event(e: &Event<'_>) -> String {
    match e {
        Event::Start(s) => format!("<{}>", s.name().0),
        Event::Empty(s) => format!("<{}/>", s.name().0),
        Event::End(s) => format!("</{}>", s.name().0),
        Event::Text(t) => format!("text {:?}", truncate(t)),
        Event::Eof => "end of input".to_owned(),
        other => format!("{other:?}"),
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn is_ws(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

// ---------------------------------------------------------------------------------------
// The event layer.

/// The scalar or compound a `<value>` holds, once its type tag has been read.
#[derive(Debug)]
pub(crate) enum Head<'de> {
    /// Untagged text or `<string>`: xapi writes strings *and* int64 this way.
    Str(Cow<'de, str>),
    /// `<i4>`, `<int>`, `<i8>`.
    Int(Cow<'de, str>),
    /// `<boolean>`.
    Bool(Cow<'de, str>),
    /// `<double>`.
    Double(Cow<'de, str>),
    /// `<dateTime.iso8601>`.
    DateTime(Cow<'de, str>),
    /// `<nil/>`.
    Nil,
    /// Inside `<struct>`; `done` when it had no members and is already closed.
    Struct { done: bool },
    /// Inside `<array><data>`; `done` when it is empty and already closed.
    Array { done: bool },
}

impl Head<'_> {
    fn describe(&self) -> String {
        match self {
            Head::Str(t) => format!("string {:?}", truncate(t)),
            Head::Int(t) => format!("<int> {:?}", truncate(t)),
            Head::Bool(t) => format!("<boolean> {:?}", truncate(t)),
            Head::Double(t) => format!("<double> {:?}", truncate(t)),
            Head::DateTime(t) => format!("<dateTime.iso8601> {:?}", truncate(t)),
            Head::Nil => "<nil/>".to_owned(),
            Head::Struct { .. } => "<struct>".to_owned(),
            Head::Array { .. } => "<array>".to_owned(),
        }
    }
}

fn expected(what: &str, head: &Head<'_>) -> ProtocolError {
    wrong_type(format!("expected {what}, found {}", head.describe()))
}

/// Whether a start (or empty) tag is `<name …>`: the tag's content up to the first
/// whitespace, as `BytesStart::name` gives it, without the out-of-line call.
#[inline]
fn start_is(s: &BytesStart<'_>, name: &str) -> bool {
    let content = s.as_bytes();
    content.starts_with(name.as_bytes())
        && content
            .get(name.len())
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The length of `</name>` when `input` starts with exactly it.
#[inline]
fn end_tag_len(input: &[u8], name: &str) -> Option<usize> {
    let close = 2 + name.len();
    (input.get(close) == Some(&b'>')
        && input.starts_with(b"</")
        && &input[2..close] == name.as_bytes())
    .then_some(close + 1)
}

/// The character data of a text event with XML 1.0 end-of-line normalisation; borrowed
/// unless there is a CR to normalise. `may_have_cr` is false when the whole input has no
/// CR (checked once up front), which spares a scan per text.
#[inline]
fn text_content<'de>(t: BytesText<'de>, may_have_cr: bool) -> Cow<'de, str> {
    if may_have_cr && t.as_bytes().contains(&b'\r') {
        t.xml10_content()
    } else {
        t.into_inner()
    }
}

/// Appends a piece of character data, switching from borrowed to owned only when needed.
fn push_text<'de>(acc: &mut Option<Cow<'de, str>>, piece: Cow<'de, str>) {
    match acc {
        None => *acc = Some(piece),
        Some(text) => text.to_mut().push_str(&piece),
    }
}

fn resolve_ref(name: &str) -> Result<Cow<'static, str>> {
    let text = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => {
            let num = name
                .strip_prefix('#')
                .ok_or_else(|| malformed(format!("unknown entity &{};", truncate(name))))?;
            let code = match num.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => num.parse(),
            };
            let ch = code
                .ok()
                .and_then(char::from_u32)
                .filter(|c| *c != '\0')
                .ok_or_else(|| {
                    malformed(format!("bad character reference &{};", truncate(name)))
                })?;
            return Ok(Cow::Owned(ch.to_string()));
        }
    };
    Ok(Cow::Borrowed(text))
}

pub(crate) struct Parser<'de> {
    reader: Reader<&'de [u8]>,
    input: &'de [u8],
    depth: usize,
    max_depth: usize,
    /// Whether the input contains a CR at all (else no text needs EOL normalisation).
    has_cr: bool,
    /// The whole input as text, when it is UTF-8: then the fast path may read straight
    /// from it.
    plain: Option<&'de str>,
    /// Bytes the fast path consumed behind quick-xml's back: its offsets lag by this much.
    skipped: u64,
    /// Whether quick-xml's last event was text (the fast path must not run then).
    #[cfg(debug_assertions)]
    after_text: bool,
}

impl<'de> Parser<'de> {
    pub(crate) fn new(input: &'de [u8], max_depth: usize) -> Self {
        let mut reader = Reader::from_reader(input);
        // The grammar below knows which end tag it expects at every point and checks it
        // itself. The fast path may read a start tag and leave its end tag to quick-xml,
        // which then closes nothing quick-xml knows of: fine, as names are checked here.
        reader.config_mut().check_end_names = false;
        reader.config_mut().allow_unmatched_ends = true;
        let has_cr = memchr::memchr(b'\r', input).is_some();
        Parser {
            reader,
            input,
            depth: 0,
            max_depth,
            has_cr,
            // Invalid UTF-8 leaves the fast path off, so quick-xml reports it in place.
            plain: std::str::from_utf8(input).ok(),
            skipped: 0,
            #[cfg(debug_assertions)]
            after_text: false,
        }
    }

    // -----------------------------------------------------------------------------------
    // The fast path. xapi writes XML-RPC one way only: bare tags, no whitespace between
    // them, references only where text needs them. Where the input continues in exactly
    // that shape, the methods below read it straight from the input (checked once to be
    // UTF-8) and move quick-xml's reader past it; anything else returns
    // `None`/`false` without consuming, and quick-xml's events read it as before.
    //
    // Two rules keep quick-xml's reader sound. The fast path runs only where quick-xml's
    // last event was markup, never text: its slice reader then sits between tags, as it
    // would after reading what the fast path read. And it reads an end tag only when it
    // read the start tag too (`ours`): quick-xml keeps a stack of the start tags it read,
    // so an end tag taken from it would leave an entry behind for every element. Its
    // offsets lag by `skipped`, which error positions add back.

    /// The remaining input, when the fast path is on.
    #[inline]
    fn plain_rest(&self) -> Option<&'de [u8]> {
        #[cfg(debug_assertions)]
        debug_assert!(!self.after_text, "the fast path runs only after markup");
        self.plain?;
        Some(self.reader.get_ref())
    }

    /// `rest[from..to]` as text (`rest` being the remaining input).
    #[inline]
    fn plain_str(&self, rest: &[u8], from: usize, to: usize) -> Option<&'de str> {
        let plain = self.plain?;
        let at = plain.len() - rest.len();
        Some(&plain[at + from..at + to])
    }

    /// Moves quick-xml's reader `n` bytes on.
    #[inline]
    fn consume(&mut self, rest: &'de [u8], n: usize) {
        *self.reader.get_mut() = &rest[n..];
        self.skipped += n as u64;
    }

    /// Reads `markup` (a fixed run of tags) if the input continues with exactly it.
    #[inline]
    fn plain_markup(&mut self, markup: &str) -> bool {
        match self.plain_rest() {
            Some(rest) if rest.starts_with(markup.as_bytes()) => {
                self.consume(rest, markup.len());
                true
            }
            _ => false,
        }
    }

    /// Reads `</name>`: straight from the input when the fast path read the start tag.
    #[inline]
    fn close(&mut self, name: &str, ours: bool) -> Result<()> {
        if ours
            && let Some(rest) = self.plain_rest()
            && let Some(n) = end_tag_len(rest, name)
        {
            self.consume(rest, n);
            return Ok(());
        }
        self.expect_end(name)
    }

    /// Reads a start tag with a bare name (`<struct>`, `<boolean>`, …) and returns the name.
    #[inline]
    fn plain_start(&mut self) -> Option<&'de str> {
        let rest = self.plain_rest()?;
        if rest.first() != Some(&b'<') {
            return None;
        }
        // The longest XML-RPC type tag is `dateTime.iso8601`.
        let close = rest.iter().take(18).position(|&b| b == b'>')?;
        let name = &rest[1..close];
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.') {
            return None;
        }
        let name = self.plain_str(rest, 1, close)?;
        self.consume(rest, close + 1);
        Some(name)
    }

    /// Reads `text</end>`, where the text holds no markup, no reference and no CR (which
    /// needs end-of-line normalisation): nearly every member name and scalar xapi sends.
    /// Only after the fast path read `<end>`.
    #[inline]
    fn plain_text(&mut self, end: &str) -> Option<&'de str> {
        let rest = self.plain_rest()?;
        let lt = memchr::memchr2(b'<', b'&', rest)?;
        let close = end_tag_len(&rest[lt..], end)?;
        if self.has_cr && memchr::memchr(b'\r', &rest[..lt]).is_some() {
            return None;
        }
        let text = self.plain_str(rest, 0, lt)?;
        self.consume(rest, lt + close);
        Some(text)
    }

    #[cold]
    #[inline(never)]
    fn xml_error(&self, e: quick_xml::Error) -> ProtocolError {
        // quick-xml reports `<!ENTITY` outside a DOCTYPE as a syntax error; refuse it as
        // what it is.
        if memchr::memmem::find(self.input, b"<!ENTITY").is_some() {
            return ProtocolError::new(
                ProtocolErrorKind::Forbidden,
                "entity declarations are refused",
            );
        }
        malformed(format!(
            "XML error at byte {}: {e}",
            self.reader.error_position() + self.skipped
        ))
    }

    /// The next event, skipping comments, processing instructions and the declaration.
    #[inline(always)]
    fn next(&mut self) -> Result<Event<'de>> {
        loop {
            match self.reader.read_event() {
                Ok(Event::Comment(_) | Event::PI(_) | Event::Decl(_)) => {}
                Ok(Event::DocType(_)) => {
                    return Err(ProtocolError::new(
                        ProtocolErrorKind::Forbidden,
                        "DOCTYPE declarations are refused (entity expansion)",
                    ));
                }
                Ok(e) => {
                    #[cfg(debug_assertions)]
                    {
                        self.after_text = matches!(e, Event::Text(_));
                    }
                    return Ok(e);
                }
                Err(e) => return Err(self.xml_error(e)),
            }
        }
    }

    /// The next event that is not whitespace between tags.
    #[inline(always)]
    fn next_tag(&mut self) -> Result<Event<'de>> {
        loop {
            match self.next()? {
                Event::Text(t) if is_ws(&t) => {}
                e => return Ok(e),
            }
        }
    }

    /// Expects `<name>` (false) or `<name/>` (true).
    fn expect_start(&mut self, name: &str) -> Result<bool> {
        match self.next_tag()? {
            Event::Start(s) if start_is(&s, name) => Ok(false),
            Event::Empty(s) if start_is(&s, name) => Ok(true),
            other => Err(malformed(format!(
                "expected <{name}>, found {}",
                describe_event(&other)
            ))),
        }
    }

    /// Expects the document element `<name>`: another element is a well-formed message of
    /// the wrong kind.
    fn expect_root(&mut self, name: &str) -> Result<()> {
        match self.next_tag()? {
            Event::Start(s) if start_is(&s, name) => Ok(()),
            ev @ (Event::Start(_) | Event::Empty(_)) => Err(bad_envelope(format!(
                "expected <{name}>, found {}",
                describe_event(&ev)
            ))),
            other => Err(malformed(format!(
                "expected <{name}>, found {}",
                describe_event(&other)
            ))),
        }
    }

    /// Expects `</name>`.
    #[inline]
    fn expect_end(&mut self, name: &str) -> Result<()> {
        match self.next_tag()? {
            Event::End(e) if e.name().0 == name => Ok(()),
            other => Err(malformed(format!(
                "expected </{name}>, found {}",
                describe_event(&other)
            ))),
        }
    }

    fn expect_eof(&mut self) -> Result<()> {
        match self.next_tag()? {
            Event::Eof => Ok(()),
            other => Err(malformed(format!(
                "trailing {} after the message",
                describe_event(&other)
            ))),
        }
    }

    /// Reads the character data of an element and its end tag; `ours` when the fast path
    /// read the start tag.
    #[inline]
    fn text_of(&mut self, end: &str, ours: bool) -> Result<Cow<'de, str>> {
        if ours && let Some(text) = self.plain_text(end) {
            return Ok(Cow::Borrowed(text));
        }
        self.read_text(end, None)
    }

    /// Reads character data up to and including the end tag of the current element.
    fn read_text(&mut self, end: &str, acc: Option<Cow<'de, str>>) -> Result<Cow<'de, str>> {
        if acc.is_some() {
            return self.read_text_slow(end, acc);
        }
        // The common case: one text event, then the end tag (or just the end tag).
        match self.next()? {
            Event::Text(t) => {
                let first = text_content(t, self.has_cr);
                match self.next()? {
                    Event::End(e) if e.name().0 == end => Ok(first),
                    ev => self.read_text_from(ev, end, Some(first)),
                }
            }
            Event::End(e) if e.name().0 == end => Ok(Cow::Borrowed("")),
            ev => self.read_text_from(ev, end, None),
        }
    }

    /// [`read_text`](Self::read_text) given the first event to interpret.
    fn read_text_from(
        &mut self,
        ev: Event<'de>,
        end: &str,
        mut acc: Option<Cow<'de, str>>,
    ) -> Result<Cow<'de, str>> {
        match ev {
            Event::Text(t) => push_text(&mut acc, text_content(t, self.has_cr)),
            Event::GeneralRef(r) => push_text(&mut acc, resolve_ref(&r)?),
            Event::CData(c) => push_text(&mut acc, c.into_inner()),
            Event::End(e) if e.name().0 == end => return Ok(acc.unwrap_or(Cow::Borrowed(""))),
            other => {
                return Err(malformed(format!(
                    "expected text, found {}",
                    describe_event(&other)
                )));
            }
        }
        self.read_text_slow(end, acc)
    }

    #[inline(never)]
    fn read_text_slow(
        &mut self,
        end: &str,
        mut acc: Option<Cow<'de, str>>,
    ) -> Result<Cow<'de, str>> {
        loop {
            match self.next()? {
                Event::Text(t) => push_text(&mut acc, text_content(t, self.has_cr)),
                Event::GeneralRef(r) => push_text(&mut acc, resolve_ref(&r)?),
                Event::CData(c) => push_text(&mut acc, c.into_inner()),
                Event::End(e) if e.name().0 == end => return Ok(acc.unwrap_or(Cow::Borrowed(""))),
                other => {
                    return Err(malformed(format!(
                        "expected text, found {}",
                        describe_event(&other)
                    )));
                }
            }
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(ProtocolError::new(
                ProtocolErrorKind::TooDeep,
                format!("arrays/structs nested deeper than {}", self.max_depth),
            ));
        }
        Ok(())
    }

    /// Closes a compound value: its `</value>`.
    fn leave(&mut self) -> Result<()> {
        self.depth -= 1;
        self.expect_end("value")
    }

    /// Reads the head of a value given its opening event (`<value>` or `<value/>`).
    fn value_head(&mut self, ev: Event<'de>) -> Result<Head<'de>> {
        match ev {
            Event::Start(s) if start_is(&s, "value") => self.open_value(false),
            Event::Empty(s) if start_is(&s, "value") => Ok(Head::Str(Cow::Borrowed(""))),
            other => Err(malformed(format!(
                "expected <value>, found {}",
                describe_event(&other)
            ))),
        }
    }

    /// After `<value>` (`ours` when the fast path read it): reads the type tag and, for
    /// scalars, the text and `</value>`.
    fn open_value(&mut self, ours: bool) -> Result<Head<'de>> {
        if ours && let Some(text) = self.plain_text("value") {
            return Ok(Head::Str(Cow::Borrowed(text)));
        }
        if let Some(tag) = self.plain_start() {
            return self.open_typed(tag, false, true, ours);
        }
        match self.next()? {
            // `<value></value>` is "" (also xapi's `void`).
            Event::End(e) if e.name().0 == "value" => Ok(Head::Str(Cow::Borrowed(""))),
            Event::Text(t) => {
                let first = text_content(t, self.has_cr);
                match self.next()? {
                    // The common case: untagged text, a string (or an xapi int64).
                    Event::End(e) if e.name().0 == "value" => Ok(Head::Str(first)),
                    Event::Start(s) if is_ws(&first) => {
                        self.open_typed(s.name().0, false, false, ours)
                    }
                    Event::Empty(s) if is_ws(&first) => {
                        self.open_typed(s.name().0, true, false, ours)
                    }
                    Event::GeneralRef(r) => {
                        let mut acc = Some(first);
                        push_text(&mut acc, resolve_ref(&r)?);
                        Ok(Head::Str(self.read_text("value", acc)?))
                    }
                    Event::CData(c) => {
                        let mut acc = Some(first);
                        push_text(&mut acc, c.into_inner());
                        Ok(Head::Str(self.read_text("value", acc)?))
                    }
                    other => Err(malformed(format!(
                        "text mixed with {} in <value>",
                        describe_event(&other)
                    ))),
                }
            }
            Event::GeneralRef(r) => Ok(Head::Str(self.read_text("value", Some(resolve_ref(&r)?))?)),
            Event::CData(c) => Ok(Head::Str(self.read_text("value", Some(c.into_inner()))?)),
            Event::Start(s) => self.open_typed(s.name().0, false, false, ours),
            Event::Empty(s) => self.open_typed(s.name().0, true, false, ours),
            other => Err(malformed(format!(
                "unexpected {} in <value>",
                describe_event(&other)
            ))),
        }
    }

    /// After a type tag: `tag_ours`/`value_ours` when the fast path read it / the `<value>`.
    fn open_typed(
        &mut self,
        tag: &str,
        empty: bool,
        tag_ours: bool,
        value_ours: bool,
    ) -> Result<Head<'de>> {
        let text = |p: &mut Self| -> Result<Cow<'de, str>> {
            if empty {
                Ok(Cow::Borrowed(""))
            } else {
                p.text_of(tag, tag_ours)
            }
        };
        let head = match tag {
            "string" => Head::Str(text(self)?),
            "i4" | "int" | "i8" => Head::Int(text(self)?),
            "boolean" => Head::Bool(text(self)?),
            "double" => Head::Double(text(self)?),
            "dateTime.iso8601" => Head::DateTime(text(self)?),
            // xapi never sends base64; keep the text.
            "base64" => Head::Str(text(self)?),
            "nil" => {
                if !empty {
                    self.close("nil", tag_ours)?;
                }
                Head::Nil
            }
            "struct" => {
                self.enter()?;
                return Ok(Head::Struct { done: empty });
            }
            "array" => {
                self.enter()?;
                if empty {
                    return Ok(Head::Array { done: true });
                }
                if self.plain_markup("<data>") {
                    return Ok(Head::Array { done: false });
                }
                return match self.next_tag()? {
                    Event::Start(s) if start_is(&s, "data") => Ok(Head::Array { done: false }),
                    Event::Empty(s) if start_is(&s, "data") => {
                        self.expect_end("array")?;
                        Ok(Head::Array { done: true })
                    }
                    Event::End(e) if e.name().0 == "array" => Ok(Head::Array { done: true }),
                    other => Err(malformed(format!(
                        "expected <data>, found {}",
                        describe_event(&other)
                    ))),
                };
            }
            other => {
                return Err(malformed(format!(
                    "unknown XML-RPC type <{}>",
                    truncate(other)
                )));
            }
        };
        self.close("value", value_ours)?;
        Ok(head)
    }

    /// In a struct: the next member's name, or `None` after `</struct>`.
    fn member_key(&mut self) -> Result<Option<Cow<'de, str>>> {
        if self.plain_markup("<member><name>") {
            return self.text_of("name", true).map(Some);
        }
        match self.next_tag()? {
            Event::Start(m) if start_is(&m, "member") => match self.next_tag()? {
                Event::Start(n) if start_is(&n, "name") => Ok(Some(self.read_text("name", None)?)),
                Event::Empty(n) if start_is(&n, "name") => Ok(Some(Cow::Borrowed(""))),
                other => Err(malformed(format!(
                    "expected <name>, found {}",
                    describe_event(&other)
                ))),
            },
            Event::End(e) if e.name().0 == "struct" => Ok(None),
            other => Err(malformed(format!(
                "expected <member>, found {}",
                describe_event(&other)
            ))),
        }
    }

    /// In a member, after its name: the head of its value.
    #[inline]
    fn member_value(&mut self) -> Result<Head<'de>> {
        if self.plain_markup("<value>") {
            return self.open_value(true);
        }
        let ev = self.next_tag()?;
        self.value_head(ev)
    }

    /// In an array: the next element's head, or `None` after `</data></array>`.
    fn element(&mut self) -> Result<Option<Head<'de>>> {
        if self.plain_markup("<value>") {
            return self.open_value(true).map(Some);
        }
        match self.next_tag()? {
            Event::End(e) if e.name().0 == "data" => {
                self.expect_end("array")?;
                Ok(None)
            }
            ev => self.value_head(ev).map(Some),
        }
    }

    /// Reads a whole value into a [`Value`] (the server side: untagged stays a string).
    pub(crate) fn parse_value(&mut self, head: Head<'de>) -> Result<Value> {
        Ok(match head {
            Head::Str(t) => Value::String(t.into_owned()),
            Head::Int(t) => Value::Int(parse_int(&t).map_err(|h| expected("an integer", &h))?),
            Head::Bool(t) => Value::Bool(t.trim() == "1"),
            Head::Double(t) => Value::Double(
                parse_float(&t).ok_or_else(|| expected("a number", &Head::Double(t.clone())))?,
            ),
            Head::DateTime(t) => Value::DateTime(t.into_owned()),
            Head::Nil => Value::Nil,
            Head::Struct { done } => {
                let mut map = IndexMap::new();
                if !done {
                    while let Some(key) = self.member_key()? {
                        let head = self.member_value()?;
                        let v = self.parse_value(head).map_err(|e| in_member(e, &key))?;
                        self.expect_end("member")?;
                        map.insert(key.into_owned(), v);
                    }
                }
                self.leave()?;
                Value::Struct(map)
            }
            Head::Array { done } => {
                let mut items = Vec::new();
                if !done {
                    while let Some(head) = self.element()? {
                        items.push(self.parse_value(head)?);
                    }
                }
                self.leave()?;
                Value::Array(items)
            }
        })
    }
}

/// Parses decimal int text; the error carries the text for the message.
fn parse_int(t: &str) -> Result<i64, Head<'static>> {
    t.trim()
        .parse()
        .map_err(|_| Head::Str(Cow::Owned(truncate(t).to_owned())))
}

// ---------------------------------------------------------------------------------------
// The typed deserializer.

/// Deserialises one value whose head has been read.
pub(crate) struct ValueDe<'a, 'de> {
    p: &'a mut Parser<'de>,
    head: Head<'de>,
}

macro_rules! de_int {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            match self.head {
                // xapi writes int64 untagged, i.e. as a string (docs/wire-protocol.md#types).
                Head::Str(ref t) | Head::Int(ref t) => {
                    let t = t.trim();
                    match t.parse::<i64>() {
                        Ok(i) => visitor.visit_i64(i),
                        Err(_) => match t.parse::<u64>() {
                            Ok(u) => visitor.visit_u64(u),
                            Err(_) => Err(expected("an integer", &self.head)),
                        },
                    }
                }
                ref other => Err(expected("an integer", other)),
            }
        }
    )*};
}

impl<'de> ValueDe<'_, 'de> {
    fn visit_struct<V: Visitor<'de>>(self, done: bool, visitor: V) -> Result<V::Value> {
        let mut access = StructAccess {
            p: self.p,
            done,
            key: Cow::Borrowed(""),
        };
        let value = visitor.visit_map(&mut access)?;
        while !access.done {
            if de::MapAccess::next_key::<IgnoredAny>(&mut access)?.is_some() {
                de::MapAccess::next_value::<IgnoredAny>(&mut access)?;
            }
        }
        access.p.leave()?;
        Ok(value)
    }

    fn visit_array<V: Visitor<'de>>(self, done: bool, visitor: V) -> Result<V::Value> {
        let mut access = ArrayAccess { p: self.p, done };
        let value = visitor.visit_seq(&mut access)?;
        while de::SeqAccess::next_element::<IgnoredAny>(&mut access)?.is_some() {}
        access.p.leave()?;
        Ok(value)
    }

    fn visit_text<V: Visitor<'de>>(text: Cow<'de, str>, visitor: V) -> Result<V::Value> {
        match text {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }
}

impl<'de> de::Deserializer<'de> for ValueDe<'_, 'de> {
    type Error = ProtocolError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            Head::Str(t) | Head::DateTime(t) => Self::visit_text(t, visitor),
            Head::Int(ref t) => {
                let i = parse_int(t).map_err(|h| expected("an integer", &h))?;
                visitor.visit_i64(i)
            }
            // Only the text `1` is true: xapi reads `<boolean>true</boolean>` as false
            // (docs/wire-protocol.md#types).
            Head::Bool(t) => visitor.visit_bool(t.trim() == "1"),
            Head::Double(ref t) => match parse_float(t) {
                Some(d) => visitor.visit_f64(d),
                None => Err(expected("a number", &self.head)),
            },
            Head::Nil => visitor.visit_unit(),
            Head::Struct { done } => self.visit_struct(done, visitor),
            Head::Array { done } => self.visit_array(done, visitor),
        }
    }

    de_int!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64
    );

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            // `<double>`, any int form, or a numeric string; `nan`/`inf` included.
            Head::Double(ref t) | Head::Int(ref t) | Head::Str(ref t) => match parse_float(t) {
                Some(d) => visitor.visit_f64(d),
                None => Err(expected("a number", &self.head)),
            },
            ref other => Err(expected("a number", other)),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            // Only the text `1` is true: xapi reads `<boolean>true</boolean>` as false
            // (docs/wire-protocol.md#types).
            Head::Bool(t) => visitor.visit_bool(t.trim() == "1"),
            ref other => Err(expected("a <boolean>", other)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            Head::Str(t) | Head::DateTime(t) | Head::Int(t) | Head::Double(t) => {
                Self::visit_text(t, visitor)
            }
            ref other => Err(expected("a string", other)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            Head::Nil => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // `void` results are `<value></value>`; accept (and skip) anything.
        self.deserialize_ignored_any(IgnoredAny)?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            Head::Struct { done } => {
                self.visit_struct(done, IgnoredAny)?;
            }
            Head::Array { done } => {
                self.visit_array(done, IgnoredAny)?;
            }
            _ => {}
        }
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        // `DateTime` arrives here and asks for a str: `<dateTime.iso8601>` or a string.
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            Head::Array { done } => self.visit_array(done, visitor),
            ref other => Err(expected("an <array>", other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.head {
            Head::Struct { done } => self.visit_struct(done, visitor),
            ref other => Err(expected("a <struct>", other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.head {
            Head::Str(ref t) => {
                let v: &str = enum_variant(t, variants);
                visitor.visit_enum(v.into_deserializer())
            }
            ref other => Err(expected("an enum name", other)),
        }
    }

    serde::forward_to_deserialize_any! { i128 u128 }
}

struct StructAccess<'a, 'de> {
    p: &'a mut Parser<'de>,
    done: bool,
    /// The current member name, for error messages (borrowed: free to keep).
    key: Cow<'de, str>,
}

impl<'de> de::MapAccess<'de> for StructAccess<'_, 'de> {
    type Error = ProtocolError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.done {
            return Ok(None);
        }
        match self.p.member_key()? {
            Some(key) => {
                self.key = key.clone();
                seed.deserialize(KeyDeserializer(key)).map(Some)
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value> {
        let head = self.p.member_value()?;
        let v = seed
            .deserialize(ValueDe {
                p: &mut *self.p,
                head,
            })
            .map_err(|e| in_member(e, &self.key))?;
        self.p.expect_end("member")?;
        Ok(v)
    }
}

struct ArrayAccess<'a, 'de> {
    p: &'a mut Parser<'de>,
    done: bool,
}

impl<'de> de::SeqAccess<'de> for ArrayAccess<'_, 'de> {
    type Error = ProtocolError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.done {
            return Ok(None);
        }
        match self.p.element()? {
            Some(head) => seed
                .deserialize(ValueDe {
                    p: &mut *self.p,
                    head,
                })
                .map(Some),
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Envelopes.

fn check_size(body: &[u8], limits: &Limits) -> Result<()> {
    if body.len() > limits.max_body_bytes {
        return Err(ProtocolError::new(
            ProtocolErrorKind::TooLarge,
            format!(
                "body of {} bytes exceeds the limit of {}",
                body.len(),
                limits.max_body_bytes
            ),
        ));
    }
    Ok(())
}

/// Decodes a standard XML-RPC `<fault>` (after `<fault>`). xapi never sends one (it
/// reports every error in the Status/ErrorDescription struct), but proxies and other
/// XML-RPC servers do.
fn decode_fault(p: &mut Parser<'_>) -> Result<Vec<String>> {
    let ev = p.next_tag()?;
    let head = p.value_head(ev)?;
    let fault = p.parse_value(head)?;
    p.expect_end("fault")?;
    let field = |name: &str| match fault.get(name) {
        Some(Value::Int(i)) => i.to_string(),
        Some(v) => v.as_str().unwrap_or_default().to_owned(),
        None => String::new(),
    };
    Ok(vec![
        "XMLRPC_FAULT".to_owned(),
        field("faultCode"),
        field("faultString"),
    ])
}

/// Reads `<methodResponse>` and either `<params><param>` (returns the value head) or a
/// `<fault>` (returns its description).
fn open_response<'de>(p: &mut Parser<'de>) -> Result<Result<Head<'de>, Vec<String>>> {
    p.expect_root("methodResponse")?;
    match p.next_tag()? {
        Event::Start(s) if start_is(&s, "params") => {
            if p.expect_start("param")? {
                return Err(bad_envelope("empty <param/>"));
            }
            let ev = p.next_tag()?;
            p.value_head(ev).map(Ok)
        }
        Event::Start(s) if start_is(&s, "fault") => decode_fault(p).map(Err),
        other => Err(bad_envelope(format!(
            "expected <params> or <fault>, found {}",
            describe_event(&other)
        ))),
    }
}

fn close_response(p: &mut Parser<'_>, fault: bool) -> Result<()> {
    if !fault {
        p.expect_end("param")?;
        p.expect_end("params")?;
    }
    p.expect_end("methodResponse")?;
    p.expect_eof()
}

/// Decodes xapi's `Status`/`Value`/`ErrorDescription` envelope straight into `T`.
pub(crate) fn decode_response<T: DeserializeOwned>(
    body: &[u8],
    limits: &Limits,
) -> Result<Response<T>> {
    decode_response_seeded(body, limits, std::marker::PhantomData::<T>)
}

/// [`decode_response`], the `Value` decoded by `seed`.
pub(crate) fn decode_response_seeded<S: ResultSeed>(
    body: &[u8],
    limits: &Limits,
    seed: S,
) -> Result<Response<S::Value>> {
    check_size(body, limits)?;
    // The envelope struct does not count towards the caller's depth limit.
    let mut p = Parser::new(body, limits.max_depth.saturating_add(1));
    let head = match open_response(&mut p)? {
        Ok(head) => head,
        Err(fault) => {
            close_response(&mut p, true)?;
            return Ok(Response::Failure(fault));
        }
    };
    let Head::Struct { done } = head else {
        return Err(bad_envelope(format!(
            "expected the Status/Value struct, found {}",
            head.describe()
        )));
    };
    let mut status: Option<bool> = None;
    let mut value: Option<S::Value> = None;
    let mut description: Option<Vec<String>> = None;
    // xapi writes Status first, but member order is not part of the protocol.
    while let Some(key) = if done { None } else { p.member_key()? } {
        let head = p.member_value()?;
        let de = ValueDe { p: &mut p, head };
        match &*key {
            "Status" => {
                let s: Cow<'_, str> = de::Deserialize::deserialize(de)
                    .map_err(|e| bad_envelope(format!("Status: {}", e.message)))?;
                status = match &*s {
                    "Success" => Some(true),
                    "Failure" => Some(false),
                    other => return Err(bad_envelope(format!("unknown Status {other:?}"))),
                };
            }
            "Value" => value = Some(seed.clone().decode(de)?),
            "ErrorDescription" => {
                description = Some(de::Deserialize::deserialize(de).map_err(
                    |e: ProtocolError| bad_envelope(format!("ErrorDescription: {}", e.message)),
                )?);
            }
            _ => {
                IgnoredAny::deserialize(de)?;
            }
        }
        p.expect_end("member")?;
    }
    p.leave()?;
    close_response(&mut p, false)?;
    match (status, value, description) {
        (Some(true), Some(v), _) => Ok(Response::Success(v)),
        (Some(true), None, _) => Err(bad_envelope("Status is Success but there is no Value")),
        (Some(false), _, Some(d)) => Ok(Response::Failure(d)),
        (Some(false), _, None) => Err(bad_envelope("Status is Failure but no ErrorDescription")),
        (None, ..) => Err(bad_envelope("the response struct has no Status")),
    }
}

/// Decodes a response without the Status/Value envelope: `system.listMethods` answers
/// with a bare array (docs/wire-protocol.md#method-names).
pub fn decode_bare_response<T: DeserializeOwned>(
    body: &[u8],
    limits: &Limits,
) -> Result<Response<T>> {
    check_size(body, limits)?;
    let mut p = Parser::new(body, limits.max_depth);
    match open_response(&mut p)? {
        Ok(head) => {
            let v = T::deserialize(ValueDe { p: &mut p, head })?;
            close_response(&mut p, false)?;
            Ok(Response::Success(v))
        }
        Err(fault) => {
            close_response(&mut p, true)?;
            Ok(Response::Failure(fault))
        }
    }
}

/// Decodes `<methodCall>` into a [`Call`] whose params are [`Value`]s (untagged values
/// stay strings: the server coerces by the message's parameter types).
pub(crate) fn decode_call(body: &[u8], limits: &Limits) -> Result<Call> {
    check_size(body, limits)?;
    let mut p = Parser::new(body, limits.max_depth);
    p.expect_root("methodCall")?;
    let method = if p.expect_start("methodName")? {
        String::new()
    } else {
        p.read_text("methodName", None)?.trim().to_owned()
    };
    if method.is_empty() || method.bytes().any(|b| b < 0x20) {
        return Err(bad_envelope(format!("bad method name {method:?}")));
    }
    let mut params = Vec::new();
    match p.next_tag()? {
        Event::Start(s) if start_is(&s, "params") => {
            loop {
                match p.next_tag()? {
                    Event::Start(s) if start_is(&s, "param") => {
                        let ev = p.next_tag()?;
                        let head = p.value_head(ev)?;
                        params.push(p.parse_value(head)?);
                        p.expect_end("param")?;
                    }
                    Event::End(e) if e.name().0 == "params" => break,
                    other => {
                        return Err(malformed(format!(
                            "expected <param>, found {}",
                            describe_event(&other)
                        )));
                    }
                }
            }
            p.expect_end("methodCall")?;
        }
        Event::Empty(s) if start_is(&s, "params") => p.expect_end("methodCall")?,
        Event::End(e) if e.name().0 == "methodCall" => {}
        other => {
            return Err(malformed(format!(
                "expected <params>, found {}",
                describe_event(&other)
            )));
        }
    }
    p.expect_eof()?;
    Ok(Call {
        method,
        params,
        format: Format::XmlRpc,
        id: None,
    })
}

/// Decodes one XML-RPC `<value>…</value>` fragment into a [`Value`] (e.g. `task.result`,
/// which xapi stores as XML-RPC text even for JSON-RPC users, docs/wire-protocol.md#tasks).
pub fn decode_value(fragment: &[u8], limits: &Limits) -> Result<Value> {
    check_size(fragment, limits)?;
    read_fragment(Parser::new(fragment, limits.max_depth))
}

/// Reads a document that is one `<value>`.
fn read_fragment(mut p: Parser<'_>) -> Result<Value> {
    let ev = p.next_tag()?;
    let head = p.value_head(ev)?;
    let v = p.parse_value(head)?;
    p.expect_eof()?;
    Ok(v)
}

// ---------------------------------------------------------------------------------------
// Encoding.

/// How ints are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntStyle {
    /// Exactly as xapi writes: int64 untagged (`<value>123</value>`), so standard clients
    /// such as XenAPI.py see a string (docs/wire-protocol.md#types).
    Response,
    /// `<int>` when the value fits in i32, else `<i8>`: what XML-RPC servers expect.
    Request,
}

/// Writes `s` escaped for XML character data. Bytes below 0x20 other than TAB, LF and CR
/// are dropped as xapi drops them (XML 1.0 cannot carry them); CR is written as `&#13;`
/// so that the reader's end-of-line normalisation cannot turn it into LF.
pub(crate) fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let needs = |b: u8| {
        matches!(b, b'&' | b'<' | b'>' | b'"' | b'\r') || (b < 0x20 && b != b'\t' && b != b'\n')
    };
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\r' => out.extend_from_slice(b"&#13;"),
            _ => {}
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Formats a double: `nan`, `inf`, `-inf` as xapi writes them; finite values in the
/// shortest form that parses back to the same bits (xapi uses `%.16g`, which can lose the
/// last digit).
pub(crate) fn write_double(out: &mut Vec<u8>, d: f64, nan: &str, inf: &str, neg_inf: &str) {
    if d.is_nan() {
        out.extend_from_slice(nan.as_bytes());
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { inf } else { neg_inf }.as_bytes());
    } else {
        let _ = write!(out, "{d:?}");
    }
}

/// Writes `<value>…</value>` for `v`.
pub fn write_value(out: &mut Vec<u8>, v: &Value, style: IntStyle) {
    out.extend_from_slice(b"<value>");
    match v {
        Value::String(s) => write_escaped(out, s),
        Value::Int(i) => match style {
            IntStyle::Response => {
                let _ = write!(out, "{i}");
            }
            IntStyle::Request if i32::try_from(*i).is_ok() => {
                let _ = write!(out, "<int>{i}</int>");
            }
            IntStyle::Request => {
                let _ = write!(out, "<i8>{i}</i8>");
            }
        },
        // Tagged in responses too: that is the point of the hint (see [`Value::Int32`]).
        Value::Int32(i) => {
            let _ = match style {
                IntStyle::Response => write!(out, "<i4>{i}</i4>"),
                IntStyle::Request => write!(out, "<int>{i}</int>"),
            };
        }
        Value::Bool(b) => out.extend_from_slice(if *b {
            b"<boolean>1</boolean>"
        } else {
            b"<boolean>0</boolean>"
        }),
        Value::Double(d) => {
            out.extend_from_slice(b"<double>");
            write_double(out, *d, "nan", "inf", "-inf");
            out.extend_from_slice(b"</double>");
        }
        Value::DateTime(t) => {
            out.extend_from_slice(b"<dateTime.iso8601>");
            write_escaped(out, t);
            out.extend_from_slice(b"</dateTime.iso8601>");
        }
        Value::Array(items) => {
            out.extend_from_slice(b"<array><data>");
            for item in items {
                write_value(out, item, style);
            }
            out.extend_from_slice(b"</data></array>");
        }
        Value::Struct(members) => {
            out.extend_from_slice(b"<struct>");
            for (k, item) in members {
                out.extend_from_slice(b"<member><name>");
                // xapi writes names unescaped (docs/wire-protocol.md#types); escaping keeps odd
                // keys well-formed.
                write_escaped(out, k);
                out.extend_from_slice(b"</name>");
                write_value(out, item, style);
                out.extend_from_slice(b"</member>");
            }
            out.extend_from_slice(b"</struct>");
        }
        Value::Nil => out.extend_from_slice(b"<nil/>"),
    }
    out.extend_from_slice(b"</value>");
}

const XML_DECL: &[u8] = b"<?xml version=\"1.0\"?>";

/// Encodes a `<methodCall>` (request int style).
pub(crate) fn encode_call(method: &str, params: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + params.len() * 64);
    out.extend_from_slice(XML_DECL);
    out.extend_from_slice(b"<methodCall><methodName>");
    write_escaped(&mut out, method);
    out.extend_from_slice(b"</methodName><params>");
    for p in params {
        out.extend_from_slice(b"<param>");
        write_value(&mut out, p, IntStyle::Request);
        out.extend_from_slice(b"</param>");
    }
    out.extend_from_slice(b"</params></methodCall>");
    out
}

/// Encodes xapi's response envelope (response int style: ints untagged, as xapi).
pub(crate) fn encode_response(result: Result<&Value, &[String]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(XML_DECL);
    out.extend_from_slice(b"<methodResponse><params><param><value><struct>");
    match result {
        Ok(v) => {
            out.extend_from_slice(
                concat!(
                    "<member><name>Status</name><value>Success</value></member>",
                    "<member><name>Value</name>"
                )
                .as_bytes(),
            );
            write_value(&mut out, v, IntStyle::Response);
        }
        Err(description) => {
            out.extend_from_slice(
                concat!(
                    "<member><name>Status</name><value>Failure</value></member>",
                    "<member><name>ErrorDescription</name><value><array><data>"
                )
                .as_bytes(),
            );
            for d in description {
                out.extend_from_slice(b"<value>");
                write_escaped(&mut out, d);
                out.extend_from_slice(b"</value>");
            }
            out.extend_from_slice(b"</data></array></value>");
        }
    }
    out.extend_from_slice(b"</member></struct></value></param></params></methodResponse>");
    out
}

/// Encodes a response without the Status/Value envelope, as xapi answers
/// `system.listMethods` (docs/wire-protocol.md#method-names).
pub fn encode_bare_response(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(XML_DECL);
    out.extend_from_slice(b"<methodResponse><params><param>");
    write_value(&mut out, value, IntStyle::Response);
    out.extend_from_slice(b"</param></params></methodResponse>");
    out
}

#[cfg(test)]
mod tests {
    //! The fast path against the event path: the same bytes must give the same value, or
    //! an error of the same kind, whichever reads them.

    use proptest::prelude::*;

    use super::*;

    fn decode(fragment: &[u8], fast: bool) -> Result<Value> {
        let mut p = Parser::new(fragment, 8);
        if !fast {
            p.plain = None;
        }
        read_fragment(p)
    }

    fn value() -> impl Strategy<Value = Value> {
        let text = "[a-z<>&\"' \r\n\u{e9}]{0,6}";
        let leaf = prop_oneof![
            text.prop_map(Value::String),
            any::<i64>().prop_map(Value::Int),
            any::<bool>().prop_map(Value::Bool),
            (-1e6f64..1e6).prop_map(Value::Double),
            Just(Value::DateTime("20240101T00:00:00Z".to_owned())),
        ];
        leaf.prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((text, inner), 0..4)
                    .prop_map(|m| Value::Struct(m.into_iter().collect())),
            ]
        })
    }

    /// Bytes that turn xapi's shape into another well-formed or ill-formed one.
    const EDITS: &[&[u8]] = &[
        b" ",
        b"\n",
        b"\r\n",
        b"&amp;",
        b"&#65;",
        b"&bad",
        b"<![CDATA[x]]>",
        b"<!-- c -->",
        b"<",
        b">",
        b"/",
        b"</value>",
        b"<value>",
        b"</member>",
        b"<string>",
        b"</name>",
        b"<nil/>",
        b"\xff",
    ];

    proptest! {
        // Enough cases to find a CR inserted into a text (measured: a few thousand).
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn fast_and_event_paths_agree(
            v in value(),
            style in prop_oneof![Just(IntStyle::Response), Just(IntStyle::Request)],
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), 0..EDITS.len() + 1),
                0..3,
            ),
        ) {
            let mut bytes = Vec::new();
            write_value(&mut bytes, &v, style);
            let own = bytes.clone();
            for (at, edit) in edits {
                let at = at.index(bytes.len() + 1);
                match EDITS.get(edit) {
                    Some(e) => drop(bytes.splice(at..at, e.iter().copied())),
                    // Past the list: delete a byte.
                    None if at < bytes.len() => drop(bytes.remove(at)),
                    None => {}
                }
            }
            let fast = decode(&bytes, true);
            let events = decode(&bytes, false);
            match (&fast, &events) {
                (Ok(a), Ok(b)) => prop_assert_eq!(format!("{a:?}"), format!("{b:?}")),
                (Err(a), Err(b)) => prop_assert_eq!(a.kind, b.kind, "{} / {}", a, b),
                _ => prop_assert!(
                    false,
                    "{:?} vs {:?} for {:?}",
                    fast,
                    events,
                    String::from_utf8_lossy(&bytes)
                ),
            }
            // The encoder's own output must decode.
            if bytes == own {
                prop_assert!(fast.is_ok(), "{:?}", fast);
            }
        }
    }

    #[test]
    fn int32_hint_is_tagged_and_reads_back_as_an_int() {
        let v = Value::Struct(
            [
                ("vm".to_owned(), Value::Int32(3)),
                ("big".to_owned(), Value::Int(3)),
            ]
            .into_iter()
            .collect(),
        );
        let mut response = Vec::new();
        write_value(&mut response, &v, IntStyle::Response);
        let text = String::from_utf8(response.clone()).unwrap();
        assert!(
            text.contains("<name>vm</name><value><i4>3</i4></value>"),
            "{text}"
        );
        assert!(text.contains("<name>big</name><value>3</value>"), "{text}");
        let mut request = Vec::new();
        write_value(&mut request, &Value::Int32(-2), IntStyle::Request);
        assert_eq!(request, b"<value><int>-2</int></value>");
        let back = decode(&response, true).unwrap();
        assert_eq!(back.get("vm"), Some(&Value::Int(3)));
    }
}
