//! TypeScript declarations of the whole API, generated from core's metadata: an interface
//! per record, a string-literal union per enum, branded references, typed parameters and
//! results per message. `scripts/typings.mjs` writes them to `generated/xenapi.d.ts` (and
//! `--check` compares).

use std::fmt::Write as _;

use xenpool::meta::{self, ClassMeta, MessageMeta, Ty};

/// Words TypeScript does not accept as parameter names.
const RESERVED: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "let",
    "static",
    "implements",
    "interface",
    "package",
    "private",
    "protected",
    "public",
    "await",
];

fn param_name(name: &str) -> String {
    if RESERVED.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

fn property(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

fn record_name(class: &str) -> String {
    meta::class(class).map_or_else(|| "AnyRecord".into(), |c| format!("{}Record", c.rust_name))
}

fn enum_name(name: &str) -> String {
    meta::enumeration(name).map_or_else(|| "string".into(), |e| e.rust_name.to_string())
}

/// Where a type appears: results are exact, arguments accept every form the dynamic layer
/// converts (bigint for int, text for datetimes).
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Result,
    Argument,
}

fn ts(ty: &Ty, side: Side) -> String {
    match ty {
        Ty::String => "string".into(),
        Ty::Int => "Int".into(),
        Ty::Float => "number".into(),
        Ty::Bool => "boolean".into(),
        Ty::DateTime if side == Side::Argument => "Date | string".into(),
        Ty::DateTime => "Date".into(),
        Ty::Enum(name) => enum_name(name),
        Ty::Ref(class) => format!("Ref<{class:?}>"),
        Ty::Set(inner) => match ts(inner, side) {
            t if t.contains(' ') => format!("Array<{t}>"),
            t => format!("{t}[]"),
        },
        Ty::Map(k, v) => {
            let value = ts(v, side);
            match k {
                Ty::Enum(name) => format!("Partial<Record<{}, {value}>>", enum_name(name)),
                _ => format!("Record<string, {value}>"),
            }
        }
        Ty::Record(class) if side == Side::Argument => {
            format!("Partial<{}>", record_name(class))
        }
        Ty::Record(class) => record_name(class),
        Ty::Option(inner) => ts(inner, side),
        Ty::Opaque(_) => "unknown".into(),
    }
}

fn result_ty(message: &MessageMeta) -> String {
    match &message.result {
        None => "void".into(),
        Some(Ty::Map(Ty::Ref(a), Ty::Record(b))) if a == b => {
            format!("Record<Ref<{a:?}>, {}>", record_name(b))
        }
        Some(ty) => ts(ty, Side::Result),
    }
}

fn signature(out: &mut String, class: &ClassMeta, m: &MessageMeta, is_async: bool) {
    let params: Vec<String> = m
        .params
        .iter()
        .map(|p| {
            let optional = if p.required { "" } else { "?" };
            format!(
                "{}{optional}: {}",
                param_name(p.name),
                ts(&p.ty, Side::Argument)
            )
        })
        .chain(std::iter::once("signal?: AbortSignal".to_string()))
        .collect();
    let result = if is_async {
        "Ref<\"task\">".to_string()
    } else {
        result_ty(m)
    };
    let prefix = if is_async { "Async." } else { "" };
    let deprecated = match m.lifecycle {
        meta::Lifecycle::Deprecated => " @deprecated",
        meta::Lifecycle::Removed => " @deprecated removed from the API",
        _ => "",
    };
    let _ = writeln!(
        out,
        "  /** `{prefix}{}.{}`{deprecated} */\n  {}({}): Promise<{result}>",
        class.name,
        m.name,
        property(m.name),
        params.join(", ")
    );
}

/// The declarations, without the banner.
#[napi]
pub fn typings() -> String {
    let mut out = String::new();
    out.push_str(
        "/** A reference to an object of class `C` (`OpaqueRef:…`), branded by class. */\n\
         export type Ref<C extends string> = string & { readonly __xenpoolRef: C }\n\
         /** int64: a `number` when it fits (|v| ≤ 2^53 − 1), a `bigint` beyond; arguments take either. */\n\
         export type Int = number | bigint\n\n",
    );
    for e in meta::api().enums {
        let values: Vec<String> = e.values.iter().map(|v| format!("{v:?}")).collect();
        let _ = writeln!(
            out,
            "/** The enumeration `{}`. */\nexport type {} = {}\n",
            e.name,
            e.rust_name,
            if values.is_empty() {
                "string".into()
            } else {
                values.join(" | ")
            }
        );
    }
    for c in meta::classes() {
        let _ = writeln!(
            out,
            "/** A record of class `{}`. */\nexport interface {} {{",
            c.name,
            record_name(c.name)
        );
        for f in c.fields {
            let optional = matches!(f.ty, Ty::Option(_));
            let _ = writeln!(
                out,
                "  /** {} */\n  {}{}: {}",
                f.qualifier.as_str(),
                property(f.name),
                if optional { "?" } else { "" },
                ts(&f.ty, Side::Result)
            );
        }
        out.push_str("}\n\n");
    }
    out.push_str("/** Every class's record type, by wire name. */\nexport interface Records {\n");
    for c in meta::classes() {
        let _ = writeln!(out, "  {}: {}", property(c.name), record_name(c.name));
    }
    out.push_str("}\n\n");
    for c in meta::classes() {
        let _ = writeln!(
            out,
            "/** The messages of class `{}`. */\nexport interface {}Messages {{",
            c.name, c.rust_name
        );
        for m in c.messages {
            signature(&mut out, c, m, false);
        }
        out.push_str("}\n\n");
        if c.messages.iter().any(|m| m.is_async) {
            let _ = writeln!(
                out,
                "/** The `Async.{}` messages: each returns a task. */\nexport interface {}AsyncMessages {{",
                c.name, c.rust_name
            );
            for m in c.messages.iter().filter(|m| m.is_async) {
                signature(&mut out, c, m, true);
            }
            out.push_str("}\n\n");
        }
    }
    out.push_str(
        "/** The `Async.` form of every message that has one. */\nexport interface AsyncXenAPI {\n",
    );
    for c in meta::classes() {
        if c.messages.iter().any(|m| m.is_async) {
            let _ = writeln!(out, "  {}: {}AsyncMessages", property(c.name), c.rust_name);
        }
    }
    out.push_str("}\n\n/** Every class of the XenAPI: `session.xenapi.VM.get_all_records()`. */\nexport interface XenAPI {\n");
    for c in meta::classes() {
        let _ = writeln!(out, "  {}: {}Messages", property(c.name), c.rust_name);
    }
    out.push_str("  Async: AsyncXenAPI\n}\n\n/** Every XenAPI error code of the datamodel. */\nexport type XenAPIErrorCode =\n");
    for e in meta::api().errors {
        let _ = writeln!(out, "  | {:?}", e.code);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_cover_the_api() {
        let t = typings();
        assert!(t.contains("export interface VmRecord {"));
        assert!(t.contains("  power_state: VmPowerState\n"));
        assert!(t.contains(
            "  get_all_records(signal?: AbortSignal): Promise<Record<Ref<\"VM\">, VmRecord>>"
        ));
        assert!(
            t.contains("export type BondMode = \"balance-slb\" | \"active-backup\" | \"lacp\"")
        );
        // Reserved words are renamed, so every signature is valid TypeScript.
        assert!(!t.contains("(class:"));
    }
}
