//! How results and errors look: tables for lists of objects, the join report's table,
//! `xe host-list` style listings, and errors with the line and a caret.

use comfy_table::{ContentArrangement, Table, presets};
use rhai::{Dynamic, EvalAltResult, ParseError, Position};

use crate::convert::XenRecord;
use crate::errors::XenError;
use crate::objects::{BondProblem, CheckResult, Host, Outcome, Pool, Report, Row, SimHost, Sr, Vm};

/// How wide tables may be: the terminal's width on a terminal (so they never wrap into
/// garbage at 80 columns), else 160 columns (files, pipes and transcripts read the same
/// everywhere).
pub fn width() -> u16 {
    let term = console::Term::stdout();
    match term.is_term().then(|| term.size_checked()).flatten() {
        Some((_, columns)) if columns >= 40 => columns,
        _ => 160,
    }
}

/// A table of rows of one object type.
pub fn table<T: Row>(rows: &[T], colour: bool) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width())
        .set_header(T::HEADERS.iter().copied());
    if colour {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    for r in rows {
        t.add_row(r.cells());
    }
    t.to_string()
}

fn rows_of<T: Row + Clone + 'static>(items: &[Dynamic]) -> Option<Vec<T>> {
    items.iter().map(|d| d.clone().try_cast::<T>()).collect()
}

fn one<T: Row + Clone + 'static>(value: &Dynamic, colour: bool) -> Option<String> {
    value.clone().try_cast::<T>().map(|o| table(&[o], colour))
}

/// `1 VM`, `3 VMs`, `0 hosts`: a count and its noun, singular only for one.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// How many rows or items of a big result are shown before `:full`.
pub const PREVIEW: usize = 10;

/// A value to print whole, however big (`full(x)`).
#[derive(Debug, Clone)]
pub struct Full(pub Dynamic);

/// The text for a value, when it has one (a preview of big maps and lists).
pub fn render(value: &Dynamic, colour: bool) -> Option<String> {
    render_with(value, colour, Some(PREVIEW))
}

/// The text for a value with every row of a big map or list.
pub fn render_full(value: &Dynamic, colour: bool) -> Option<String> {
    render_with(value, colour, None)
}

fn render_with(value: &Dynamic, colour: bool, limit: Option<usize>) -> Option<String> {
    if value.is_unit() {
        return None;
    }
    if let Some(f) = value.clone().try_cast::<Full>() {
        return render_with(&f.0, colour, None);
    }
    if let Some(s) = value.clone().try_cast::<String>() {
        return Some(s);
    }
    if let Some(e) = value.clone().try_cast::<XenError>() {
        return Some(format!("{}: {}", e.code, e.message));
    }
    if let Some(r) = value.clone().try_cast::<Report>() {
        return Some(if colour { r.coloured } else { r.text });
    }
    if let Some(o) = value.clone().try_cast::<Outcome>() {
        return Some(if o.executed {
            o.summary
        } else {
            format!("{}dry run: nothing was changed", o.plan)
        });
    }
    if value.is_array() {
        let items = value.clone().into_array().unwrap_or_default();
        if items.is_empty() {
            return Some("(none)".into());
        }
        macro_rules! try_rows {
            ($($t:ty),*) => {$(
                if let Some(rows) = rows_of::<$t>(&items) {
                    return Some(table(&rows, colour));
                }
            )*};
        }
        try_rows!(
            Host,
            Vm,
            Sr,
            Pool,
            CheckResult,
            BondProblem,
            SimHost,
            Outcome
        );
    }
    macro_rules! try_one {
        ($($t:ty),*) => {$(
            if let Some(text) = one::<$t>(value, colour) {
                return Some(text);
            }
        )*};
    }
    try_one!(Host, Vm, Sr, Pool, CheckResult, BondProblem, SimHost);
    if let Some(r) = value.clone().try_cast::<XenRecord>() {
        return Some(record_fields(&r, limit.is_some()));
    }
    if let Some(text) = big(value, colour, limit) {
        return Some(text);
    }
    Some(value.to_string())
}

/// The items of a map (by key) or a list, when the value is one.
fn items_of(value: &Dynamic) -> Option<Vec<(Option<String>, Dynamic)>> {
    if let Some(map) = value.clone().try_cast::<rhai::Map>() {
        return Some(
            map.into_iter()
                .map(|(k, v)| (Some(k.to_string()), v))
                .collect(),
        );
    }
    value
        .clone()
        .into_array()
        .ok()
        .map(|items| items.into_iter().map(|v| (None, v)).collect())
}

/// A map or list of XenAPI records as a table (name, uuid and a few telling fields of its
/// class, sorted by name); any other map or list too long for one line as one item per
/// line. `limit` rows at most, then how many more there are.
fn big(value: &Dynamic, colour: bool, limit: Option<usize>) -> Option<String> {
    let items = items_of(value)?;
    if items.is_empty() {
        return None;
    }
    let records: Option<Vec<XenRecord>> = items
        .iter()
        .map(|(_, v)| v.clone().try_cast::<XenRecord>())
        .collect();
    let total = items.len();
    let shown = limit.unwrap_or(total).min(total);
    let mut out = match records {
        Some(records) => record_table(records, shown, colour),
        None => {
            let line = value.to_string();
            if line.chars().count() <= usize::from(width()) && total <= PREVIEW {
                return None;
            }
            let cut = usize::from(width()).saturating_sub(4);
            let mut text = format!("{}:", plural(total, "item"));
            for (key, v) in items.iter().take(shown) {
                let v = v.to_string();
                let entry = match key {
                    Some(k) => format!("{k}: {v}"),
                    None => v,
                };
                let entry = match limit {
                    Some(_) if entry.chars().count() > cut => {
                        format!("{}…", entry.chars().take(cut - 1).collect::<String>())
                    }
                    _ => entry,
                };
                text.push_str(&format!("\n  {entry}"));
            }
            text
        }
    };
    if shown < total {
        out.push_str(&format!("\n… {} more; :full shows all", total - shown));
    }
    Some(out)
}

/// One record as `xe … param-list` shows one: a field per line, name aligned; long values
/// cut to the width unless `whole`.
fn record_fields(r: &XenRecord, cut: bool) -> String {
    let fields = r.0.fields();
    let pad = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let room = usize::from(width()).saturating_sub(pad + 4).max(20);
    let mut any_cut = false;
    let mut out = format!("{} record:", r.0.class_name());
    for (name, value) in fields {
        let mut text = cell(value);
        if cut && text.chars().count() > room {
            text = format!("{}…", text.chars().take(room - 1).collect::<String>());
            any_cut = true;
        }
        out.push_str(&format!("\n  {name:<pad$}  {text}"));
    }
    if any_cut {
        out.push_str("\n… long values cut; :full shows all");
    }
    out
}

/// Fields worth a column for a class, after its name and uuid.
fn telling_fields(class: &str) -> &'static [&'static str] {
    match class {
        "VM" => &["power_state", "is_a_template", "is_control_domain"],
        "host" => &["address", "enabled"],
        "SR" => &["type", "shared"],
        "VDI" => &["virtual_size", "type"],
        "network" => &["bridge"],
        "PIF" => &["device", "IP"],
        "task" => &["status", "progress"],
        _ => &[],
    }
}

fn record_table(mut records: Vec<XenRecord>, shown: usize, colour: bool) -> String {
    let class = records.first().map_or("", |r| r.0.class_name());
    let text = |r: &XenRecord, f: &str| r.0.field(f).map(cell).unwrap_or_default();
    records.sort_by_cached_key(|r| (text(r, "name_label"), text(r, "uuid")));
    let mut columns: Vec<&str> = ["name_label", "uuid"]
        .into_iter()
        .filter(|f| records.iter().any(|r| r.0.field(f).is_some()))
        .collect();
    columns.extend(telling_fields(class));
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width())
        .set_header(columns.iter().copied());
    if colour {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    for r in records.iter().take(shown) {
        t.add_row(columns.iter().map(|c| text(r, c)));
    }
    format!(
        "{}:\n{t}",
        plural(records.len(), &format!("{class} record"))
    )
}

/// A field's value as a table cell.
fn cell(value: xenpool::dynamic::Dyn) -> String {
    match crate::convert::from_dyn(value) {
        v if v.is_string() => v.into_string().unwrap_or_default(),
        v => v.to_string(),
    }
}

/// Hosts listed as `xe host-list` does.
pub fn host_list(hosts: &[Host]) -> String {
    let mut out = String::new();
    for h in hosts {
        out.push_str(&format!("uuid ( RO)                : {}\n", h.uuid));
        out.push_str(&format!("          name-label ( RW): {}\n", h.name));
        out.push_str(&format!(
            "    name-description ( RW): {}\n\n",
            h.description
        ));
    }
    out
}

/// A script failure: what went wrong and, when known, where, with the line and a caret.
pub fn error(source_name: &str, source: &str, err: &EvalAltResult, colour: bool) -> String {
    let (message, position) = describe(err);
    located(source_name, source, &message, position, colour)
}

/// A syntax error, with the line and a caret.
pub fn parse_error(source_name: &str, source: &str, err: &ParseError, colour: bool) -> String {
    located(
        source_name,
        source,
        &format!("syntax error: {}", err.err_type()),
        err.position(),
        colour,
    )
}

/// The innermost cause and the outermost known position in the entered text.
fn describe(err: &EvalAltResult) -> (String, Position) {
    let position = err.position();
    let mut e = err;
    let mut context = Vec::new();
    loop {
        match e {
            EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
                context.push(name.clone());
                e = inner;
            }
            EvalAltResult::ErrorRuntime(value, _) => {
                let text = match value.clone().try_cast::<XenError>() {
                    Some(x) => {
                        if x.code.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                            && !x.message.contains(&x.code)
                        {
                            format!("{} ({})", x.message, x.code)
                        } else {
                            x.message.clone()
                        }
                    }
                    None => format!("thrown: {value}"),
                };
                return (with_context(text, &context), position);
            }
            EvalAltResult::ErrorTerminated(why, _) => {
                let text = why
                    .clone()
                    .into_string()
                    .unwrap_or_else(|_| "cancelled (Ctrl-C)".into());
                return (text, position);
            }
            other => {
                let text = other.to_string();
                // Rhai appends " (line L, position C)"; the caret shows that instead.
                let text = match text.rfind(" (line ") {
                    Some(i) if text.ends_with(')') => text[..i].to_string(),
                    _ => text,
                };
                return (with_context(text, &context), position);
            }
        }
    }
}

fn with_context(text: String, functions: &[String]) -> String {
    match functions.last() {
        // Rhai names closures `anon$<hash>`.
        Some(f) if f.starts_with("anon$") => format!("{text} (in a closure)"),
        Some(f) => format!("{text} (in function {f})"),
        None => text,
    }
}

fn located(source_name: &str, source: &str, message: &str, pos: Position, colour: bool) -> String {
    let paint = |s: &str, style: console::Style| {
        if colour {
            style.force_styling(true).apply_to(s).to_string()
        } else {
            s.to_string()
        }
    };
    let mut out = format!(
        "{} {message}",
        paint("error:", console::Style::new().red().bold())
    );
    let (Some(line), Some(column)) = (pos.line(), pos.position()) else {
        return out;
    };
    let Some(text) = source.lines().nth(line - 1) else {
        return out;
    };
    let number = line.to_string();
    let pad = " ".repeat(number.len());
    out.push_str(&format!("\n{pad}--> {source_name}:{line}:{column}\n"));
    out.push_str(&format!("{pad} |\n{number} | {text}\n"));
    out.push_str(&format!(
        "{pad} | {}{}",
        " ".repeat(column.saturating_sub(1)),
        paint("^", console::Style::new().red().bold())
    ));
    out
}
