//! Turns the datamodel into Rust source (unformatted; the caller runs rustfmt).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use anyhow::{Result, bail};

use crate::model::{Datamodel, ErrorDef, Errors, Message, Names, Param, Ty, parse_ty};
use crate::names::{RESERVED_TYPES, camel, snake};

/// Path of the generated module as seen from generated code (core: `crate::generated`;
/// the fixture test mounts its file at the same path).
const G: &str = "crate::generated";

/// A generated module: `header` holds inner docs/attributes, `items` the rest.
pub struct Module {
    pub name: String,
    pub header: String,
    pub items: String,
    pub children: Vec<Module>,
}

impl Module {
    fn new(name: &str, header: String, items: String) -> Self {
        Module {
            name: name.to_string(),
            header,
            items,
            children: Vec::new(),
        }
    }

    /// One file per module: `mod.rs`, `enums.rs`, `classes/mod.rs`, `classes/vm.rs`, ...
    pub fn into_files(self, banner: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.files_into("", true, banner, &mut out);
        out
    }

    fn files_into(self, dir: &str, root: bool, banner: &str, out: &mut Vec<(String, String)>) {
        let path = if root {
            format!("{dir}mod.rs")
        } else if self.children.is_empty() {
            format!("{dir}{}.rs", self.name)
        } else {
            format!("{dir}{}/mod.rs", self.name)
        };
        let mut text = format!("{banner}\n{}\n", self.header);
        for child in &self.children {
            let _ = writeln!(text, "pub mod {};", child.name);
        }
        text.push_str(&self.items);
        out.push((path, text));
        let sub = if root {
            dir.to_string()
        } else {
            format!("{dir}{}/", self.name)
        };
        for child in self.children {
            child.files_into(&sub, false, banner, out);
        }
    }

    /// Everything in one file, children as inline modules (for the test fixture).
    /// The root's inner docs become plain comments: `include!` accepts no inner attributes.
    pub fn into_single_file(mut self, banner: &str) -> String {
        self.header = self.header.replace("//!", "//");
        format!("{banner}\n{}", self.inline_body())
    }

    fn inline_body(self) -> String {
        let mut text = format!("{}\n", self.header);
        for child in self.children {
            let _ = writeln!(
                text,
                "pub mod {} {{\n{}\n}}",
                child.name.clone(),
                child.inline_body()
            );
        }
        text.push_str(&self.items);
        text
    }
}

struct EnumInfo {
    rust: String,
    /// (wire value, variant name)
    variants: Vec<(String, String)>,
}

struct Ctx {
    names: Names,
    class_rust: HashMap<String, String>,
    enums: BTreeMap<String, EnumInfo>,
}

fn lifecycle(state: &str) -> &'static str {
    match state {
        "Prototyped_s" => "Prototyped",
        "Deprecated_s" => "Deprecated",
        "Removed_s" => "Removed",
        _ => "Published",
    }
}

fn lifecycle_note(state: &str) -> &'static str {
    match state {
        "Prototyped_s" => " Prototype: may change or be absent on released hosts.",
        "Deprecated_s" => " Deprecated.",
        "Removed_s" => " Removed: current hosts answer `MESSAGE_REMOVED`.",
        _ => "",
    }
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

impl Ctx {
    fn ty(&self, text: &str) -> Ty {
        parse_ty(text, &self.names)
    }

    /// Owned Rust type.
    fn rust(&self, t: &Ty) -> String {
        match t {
            Ty::String => "String".into(),
            Ty::Int => "i64".into(),
            Ty::Float => "f64".into(),
            Ty::Bool => "bool".into(),
            Ty::DateTime => "::xenpool::DateTime".into(),
            Ty::Enum(e) => format!("{G}::{}", self.enums[e].rust),
            Ty::Ref(c) => format!("::xenpool::Ref<{G}::{}>", self.class_rust[c]),
            Ty::Set(t) => format!("Vec<{}>", self.rust(t)),
            Ty::Map(k, v) => format!(
                "::std::collections::HashMap<{}, {}>",
                self.rust(k),
                self.rust(v)
            ),
            Ty::Record(c) => format!("{G}::{}Record", self.class_rust[c]),
            Ty::Option(t) => format!("Option<{}>", self.rust(t)),
            // `event.from`'s result: core's typed batch (both protocols, ids as numbers or
            // strings).
            Ty::Opaque(s) if s == "an event batch" => "::xenpool::event::EventBatch".into(),
            Ty::Opaque(_) => "::xenpool::wire::Value".into(),
        }
    }

    /// (parameter type, expression handed to `to_value`) for a parameter named `name`.
    fn param(&self, t: &Ty, name: &str) -> (String, String) {
        match t {
            Ty::Int | Ty::Float | Ty::Bool | Ty::DateTime => (self.rust(t), format!("&{name}")),
            Ty::String => ("&str".into(), name.into()),
            Ty::Set(inner) => (format!("&[{}]", self.rust(inner)), name.into()),
            _ => (format!("&{}", self.rust(t)), name.into()),
        }
    }

    /// Metadata expression for a type.
    fn meta(&self, t: &Ty) -> String {
        match t {
            Ty::String => "Ty::String".into(),
            Ty::Int => "Ty::Int".into(),
            Ty::Float => "Ty::Float".into(),
            Ty::Bool => "Ty::Bool".into(),
            Ty::DateTime => "Ty::DateTime".into(),
            Ty::Enum(e) => format!("Ty::Enum({})", lit(e)),
            Ty::Ref(c) => format!("Ty::Ref({})", lit(c)),
            Ty::Set(t) => format!("Ty::Set(&{})", self.meta(t)),
            Ty::Map(k, v) => format!("Ty::Map(&{}, &{})", self.meta(k), self.meta(v)),
            Ty::Record(c) => format!("Ty::Record({})", lit(c)),
            Ty::Option(t) => format!("Ty::Option(&{})", self.meta(t)),
            Ty::Opaque(s) => format!("Ty::Opaque({})", lit(s)),
        }
    }
}

/// Adds the hidden `get_all_records_where` / `get_all_where` to classes that have
/// `get_all_records` but not them (docs/wire-protocol.md#implicit-messages).
fn add_hidden_messages(dm: &mut Datamodel) {
    for class in &mut dm.classes {
        let Some(gar) = class.messages.iter().find(|m| m.name == "get_all_records") else {
            continue;
        };
        let session = Param {
            name: "session_id".into(),
            ty: "session ref".into(),
            required: true,
        };
        let expr = Param {
            name: "expr".into(),
            ty: "string".into(),
            required: true,
        };
        let mut extra = Vec::new();
        let has = |n: &str| class.messages.iter().any(|m| m.name == n);
        for (name, result) in [
            ("get_all_records_where", gar.result.clone()),
            ("get_all_where", format!("{} ref set", class.name)),
        ] {
            if !has(name) {
                extra.push(Message {
                    name: name.into(),
                    params: vec![session.clone(), expr.clone()],
                    result,
                    errors: Vec::new(),
                    lifecycle: crate::model::Lifecycle {
                        state: gar.lifecycle.state.clone(),
                        transitions: Vec::new(),
                    },
                    implicit: true,
                    r#async: Some(false),
                    session: true,
                    hidden: true,
                });
            }
        }
        class.messages.extend(extra);
    }
}

/// A message's parameters after `session_id`.
fn message_params(m: &Message) -> &[Param] {
    if m.session {
        &m.params[1.min(m.params.len())..]
    } else {
        &m.params
    }
}

/// The required parameters and the optional tail of a message. xapi reads parameters by
/// position and fills defaults only for a missing tail, so an optional parameter followed
/// by a required one cannot be expressed.
fn split_optional<'m>(wire: &str, m: &'m Message) -> Result<(&'m [Param], &'m [Param])> {
    let params = message_params(m);
    let required = params.iter().take_while(|p| p.required).count();
    let (head, tail) = params.split_at(required);
    if let Some(p) = tail.iter().find(|p| p.required) {
        bail!(
            "`{wire}.{}`: required parameter `{}` follows an optional one",
            m.name,
            p.name
        );
    }
    Ok((head, tail))
}

/// Name of the options struct of a message with optional parameters (`HostDisableOptions`).
fn options_type(ctx: &Ctx, wire: &str, message: &str) -> String {
    format!("{}{}Options", ctx.class_rust[wire], camel(message))
}

/// Parameter names whose values must not show in `Debug` output.
fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "pwd", "secret", "token", "private_key"]
        .iter()
        .any(|s| name.contains(s))
}

/// The options struct of a message: one `Option` per optional parameter.
fn options_struct(ctx: &Ctx, options: &str, method: &str, fields: &[(String, &Param)]) -> String {
    let mut body = String::new();
    let mut debug = String::new();
    for (pn, p) in fields {
        let _ = writeln!(
            body,
            "/// `{}`: `{}`; `None` leaves it out.\npub {pn}: Option<{}>,",
            p.name,
            p.ty,
            ctx.rust(&ctx.ty(&p.ty))
        );
        let shown = if is_secret(&p.name) {
            format!("&self.{pn}.as_ref().map(|_| \"<redacted>\")")
        } else {
            format!("&self.{pn}")
        };
        let _ = write!(
            debug,
            ".field({}, {shown})",
            lit(pn.trim_start_matches("r#"))
        );
    }
    format!(
        "/// The optional parameters of `{method}`. Each one set is sent; xapi reads them by \
         position, so one can be set only together with every field above it.\n\
         #[derive(Clone, Default, PartialEq)]\n\
         pub struct {options} {{\n{body}}}\n\n\
         impl ::std::fmt::Debug for {options} {{\n\
         fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{\n\
         f.debug_struct({}){debug}.finish()\n}}\n}}\n",
        lit(options)
    )
}

fn check_unique<'a>(what: &str, names: impl IntoIterator<Item = (String, &'a str)>) -> Result<()> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (rust, wire) in names {
        if let Some(prev) = seen.insert(rust.clone(), wire) {
            bail!("name collision in {what}: `{prev}` and `{wire}` both become `{rust}`");
        }
    }
    Ok(())
}

/// Generates the whole module tree. `core` adds the `impl ::xenpool::ApiError` accessors,
/// which only the crate defining `ApiError` may contain.
pub fn generate(mut dm: Datamodel, errors: &Errors, core: bool) -> Result<Module> {
    add_hidden_messages(&mut dm);
    let names = Names {
        classes: dm.classes.iter().map(|c| c.name.clone()).collect(),
        enums: dm.enums.keys().cloned().collect(),
    };
    let mut class_rust = HashMap::new();
    let mut types: Vec<(String, &str)> = RESERVED_TYPES
        .iter()
        .map(|r| (r.to_string(), "<reserved by the generator>"))
        .collect();
    for c in &dm.classes {
        let rust = camel(&c.name);
        types.push((rust.clone(), c.name.as_str()));
        types.push((format!("{rust}Record"), c.name.as_str()));
        for m in &c.messages {
            if !split_optional(&c.name, m)?.1.is_empty() {
                types.push((format!("{rust}{}Options", camel(&m.name)), c.name.as_str()));
            }
        }
        class_rust.insert(c.name.clone(), rust);
    }
    let mut enums = BTreeMap::new();
    for (name, values) in &dm.enums {
        let rust = camel(name);
        types.push((rust.clone(), name.as_str()));
        let mut used: HashSet<String> = HashSet::new();
        let mut variants = Vec::new();
        for v in values {
            let mut base = camel(v);
            if base == "Unknown" || base == "Self" {
                base.push_str("Value");
            }
            let mut variant = base.clone();
            let mut n = 2;
            while !used.insert(variant.clone()) {
                variant = format!("{base}{n}");
                n += 1;
            }
            variants.push((v.clone(), variant));
        }
        enums.insert(name.clone(), EnumInfo { rust, variants });
    }
    check_unique("type names", types)?;
    check_unique(
        "class modules",
        dm.classes.iter().map(|c| (snake(&c.name), c.name.as_str())),
    )?;
    if !dm.classes.iter().any(|c| c.name == "task")
        && dm
            .classes
            .iter()
            .any(|c| c.messages.iter().any(|m| m.r#async == Some(true)))
    {
        bail!("async messages need a `task` class for their result");
    }
    let ctx = Ctx {
        names,
        class_rust,
        enums,
    };

    let mut root_items =
        String::from("pub use self::enums::*;\npub use self::errors::ErrorCode;\n");
    let mut class_mods = Vec::new();
    for (index, class) in dm.classes.iter().enumerate() {
        let rust = &ctx.class_rust[&class.name];
        let mut exported = vec![rust.clone(), format!("{rust}Record")];
        for m in &class.messages {
            if !split_optional(&class.name, m)?.1.is_empty() {
                exported.push(options_type(&ctx, &class.name, &m.name));
            }
        }
        let _ = writeln!(
            root_items,
            "pub use self::classes::{}::{{{}}};",
            snake(&class.name),
            exported.join(", ")
        );
        class_mods.push(gen_class(&ctx, class, index)?);
    }
    if core {
        // One list of every record type, for code written once over all of them (the
        // typed round-trip tests in core/tests/wire_records.rs).
        root_items.push_str(
            "/// Calls `$callback! { \"wire_name\" => Marker, Record; … }` once with every class, \
             in\n\
             /// datamodel order, so that code can be written once for every record type.\n\
             #[macro_export]\n\
             macro_rules! for_each_record {\n    ($callback:ident) => {\n        $callback! {\n",
        );
        for class in &dm.classes {
            let rust = &ctx.class_rust[&class.name];
            let _ = writeln!(
                root_items,
                "            {} => $crate::generated::{rust}, $crate::generated::{rust}Record;",
                lit(&class.name)
            );
        }
        root_items.push_str("        }\n    };\n}\n");
    }
    let mut classes = Module::new(
        "classes",
        "//! One module per class: marker type, record and messages.".into(),
        String::new(),
    );
    classes.children = class_mods;
    let mut root = Module::new(
        "generated",
        "//! Everything generated from the XenAPI datamodel: one marker type and record per \
         class,\n\
         //! one function per message, one enum per datamodel enum, error codes and metadata \
         tables."
            .into(),
        root_items,
    );
    root.children = vec![
        classes,
        gen_enums(&ctx),
        gen_errors(errors, core)?,
        gen_metadata(&ctx, &dm, errors),
    ];
    Ok(root)
}

fn gen_class(ctx: &Ctx, class: &crate::model::Class, index: usize) -> Result<Module> {
    let wire = &class.name;
    let rust = &ctx.class_rust[wire];
    let header = format!(
        "//! The `{wire}` class: marker [`{rust}`], record [`{rust}Record`] and one function per \
         message.\n\
         #![allow(clippy::too_many_arguments, clippy::type_complexity)]"
    );
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/// Marker for the `{wire}` class, used as `Ref<{rust}>`.{}\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]\n\
         pub struct {rust};\n\
         impl ::xenpool::XenClass for {rust} {{ const WIRE_NAME: &'static str = {}; type Record = \
         {rust}Record; }}\n",
        lifecycle_note(&class.lifecycle.state),
        lit(wire)
    );

    // Record.
    check_unique(
        &format!("fields of `{wire}`"),
        class
            .fields
            .iter()
            .map(|f| (snake(&f.name), f.name.as_str())),
    )?;
    let mut fields = String::new();
    let mut defaults = Vec::new();
    let mut default_fns = String::new();
    for f in &class.fields {
        let name = snake(&f.name);
        let t = ctx.ty(&f.ty);
        let _ = writeln!(
            fields,
            "/// `{}`: `{}` ({}).{}",
            f.name,
            f.ty,
            f.qualifier,
            lifecycle_note(&f.lifecycle.state)
        );
        if name != f.name {
            let _ = writeln!(fields, "#[serde(rename = {})]", lit(&f.name));
        }
        if let Ty::Set(_) = &t {
            fields.push_str(
                "#[serde(deserialize_with = \"::xenpool::wire::exact_vec::deserialize\")]\n",
            );
        }
        // The datamodel's default where it differs from the type's own.
        let manual = match &t {
            Ty::Option(_) => {
                fields.push_str("#[serde(skip_serializing_if = \"Option::is_none\")]\n");
                None
            }
            Ty::Opaque(_) => Some("::xenpool::wire::Value::Struct(Default::default())".to_string()),
            Ty::Enum(e) => {
                let info = &ctx.enums[e];
                let chosen = f.default.as_deref().and_then(|d| {
                    let d = d.trim_matches('"');
                    info.variants.iter().find(|(w, _)| w == d).or_else(|| {
                        info.variants
                            .iter()
                            .find(|(w, _)| w.eq_ignore_ascii_case(d))
                    })
                });
                chosen.map(|(_, variant)| format!("{G}::{}::{variant}", info.rust))
            }
            _ => f.default.as_deref().and_then(|d| scalar_default(&t, d)),
        };
        // Each field defaults on its own (rather than `#[serde(default)]` on the struct,
        // which builds and drops a whole default record for every record decoded).
        match manual {
            None => {
                fields.push_str("#[serde(default)]\n");
                defaults.push(format!("{name}: Default::default(),"));
            }
            Some(expr) => {
                let fn_name = format!("default_{}", name.trim_start_matches("r#"));
                let _ = writeln!(fields, "#[serde(default = {})]", lit(&fn_name));
                let _ = writeln!(
                    default_fns,
                    "fn {fn_name}() -> {} {{\n    {expr}\n}}\n",
                    ctx.rust(&t)
                );
                defaults.push(format!("{name}: {fn_name}(),"));
            }
        }
        let _ = writeln!(fields, "pub {name}: {},", ctx.rust(&t));
    }
    let _ = writeln!(
        s,
        "/// All fields of a `{wire}` object, as `{wire}.get_record` returns them. Members \
         missing on\n\
         /// older hosts take their default; unknown members are ignored.\n\
         #[derive(Debug, Clone, PartialEq, {}::serde::Serialize, ::serde::Deserialize)]\n\
         pub struct {rust}Record {{\n{fields}}}\n\n{default_fns}",
        if default_fns.is_empty() {
            "Default, "
        } else {
            ""
        }
    );
    if !default_fns.is_empty() {
        let _ = writeln!(
            s,
            "impl Default for {rust}Record {{\n    fn default() -> Self {{\n        {rust}Record \
             {{\n{}\n        }}\n    }}\n}}\n",
            defaults.join("\n")
        );
    }

    // The record for the dynamic layer: read field by field, converted on access.
    let arms: Vec<String> = class
        .fields
        .iter()
        .map(|f| format!("{} => self.{}.to_dyn(),", lit(&f.name), snake(&f.name)))
        .collect();
    let _ = writeln!(
        s,
        "impl ::xenpool::dynamic::AnyRecord for {rust}Record {{
         fn class(&self) -> &'static ::xenpool::meta::ClassMeta {{
         &{G}::metadata::CLASSES[{index}]
}}
         fn field(&self, name: &str) -> Option<::xenpool::dynamic::Dyn> {{
{}
}}
         fn to_wire(&self) -> ::xenpool::wire::Value {{
         ::xenpool::wire::to_value(self).unwrap_or(::xenpool::wire::Value::Nil)
}}
}}

         impl ::xenpool::dynamic::ToDyn for {rust}Record {{
         fn to_dyn(&self) -> ::xenpool::dynamic::Dyn {{
         ::xenpool::dynamic::Dyn::Record(::xenpool::dynamic::Record::new(self.clone()))
}}
}}
",
        if arms.is_empty() {
            "let _ = name;\nNone".to_string()
        } else {
            format!(
                "use ::xenpool::dynamic::ToDyn;\nSome(match name {{\n{}\n_ => return None,\n}})",
                arms.join("\n")
            )
        }
    );

    // Messages.
    let mut fn_names: Vec<(String, String)> = Vec::new();
    let mut fns = String::new();
    for m in &class.messages {
        let name = snake(&m.name);
        let is_async = m.r#async == Some(true);
        let params = message_params(m);
        if m.session && m.params.first().is_none_or(|p| p.name != "session_id") {
            bail!(
                "`{wire}.{}` is marked session but its first parameter is not session_id",
                m.name
            );
        }
        let optional = split_optional(wire, m)?.1;
        fn_names.push((name.clone(), m.name.clone()));
        if is_async {
            fn_names.push((format!("async_{name}"), format!("Async.{}", m.name)));
        }
        if !optional.is_empty() {
            fn_names.push((format!("{name}_with"), format!("{} (with options)", m.name)));
            if is_async {
                fn_names.push((
                    format!("async_{name}_with"),
                    format!("Async.{} (with options)", m.name),
                ));
            }
        }
        let mut pnames: Vec<(String, &str)> = vec![("c".into(), "<the caller>")];
        let mut sig = String::from("c: &impl ::xenpool::Caller");
        let mut values = Vec::new();
        let mut optional_fields = Vec::new();
        for p in params {
            let mut pn = snake(&p.name);
            if pn == "c" {
                pn = "c_".into();
            }
            pnames.push((pn.clone(), p.name.as_str()));
            if p.required {
                let (ty, expr) = ctx.param(&ctx.ty(&p.ty), &pn);
                let _ = write!(sig, ", {pn}: {ty}");
                values.push(format!("::xenpool::wire::to_value({expr})?"));
            } else {
                optional_fields.push((pn, p));
            }
        }
        if !optional.is_empty() {
            pnames.push(("optional".into(), "<the optional parameters>"));
        }
        check_unique(&format!("parameters of `{wire}.{}`", m.name), pnames)?;
        let values = if values.is_empty() {
            "Vec::new()".to_string()
        } else {
            format!("vec![{}]", values.join(", "))
        };
        let method = format!("{wire}.{}", m.name);
        let mut doc = format!("`{method}`");
        if m.implicit {
            doc.push_str(" (implicit)");
        }
        if is_async {
            let _ = write!(doc, "; async-capable: see [`{rust}::async_{name}`]");
        }
        doc.push('.');
        if m.hidden {
            doc.push_str(" Hidden: served by xapi but absent from the published API.");
        }
        if !m.session {
            doc.push_str(" Sent without a session.");
        }
        if !optional.is_empty() {
            let names: Vec<String> = optional.iter().map(|p| format!("`{}`", p.name)).collect();
            let _ = write!(
                doc,
                " Sends no optional parameter, so hosts that predate them accept it; \
                 [`{rust}::{name}_with`] can send {}.",
                names.join(", ")
            );
        }
        doc.push_str(lifecycle_note(&m.lifecycle.state));
        let session = m.session;
        let (ret, call) = if m.result == "void" {
            (
                "()".to_string(),
                format!(
                    "c.call::<::xenpool::call::Void>({}, {session}, params).await?;\nOk(())",
                    lit(&method)
                ),
            )
        } else {
            let r = ctx.rust(&ctx.ty(&m.result));
            (
                r.clone(),
                format!("c.call::<{r}>({}, {session}, params).await", lit(&method)),
            )
        };
        let _ = writeln!(
            fns,
            "/// {doc}\npub async fn {name}({sig}) -> ::xenpool::Result<{ret}> {{\nlet params = \
             {values};\n{call}\n}}\n"
        );
        // `generate` has checked that a model with async messages has a task class.
        let (task, async_call) = if is_async {
            let task = format!("::xenpool::Ref<{G}::{}>", ctx.class_rust["task"]);
            let call = format!(
                "c.call::<{task}>({}, {session}, params).await",
                lit(&format!("Async.{method}"))
            );
            (task, call)
        } else {
            Default::default()
        };
        if is_async {
            let _ = writeln!(
                fns,
                "/// `Async.{method}`: runs [`{rust}::{name}`] as a task and returns the task.\n\
                 pub async fn async_{name}({sig}) -> ::xenpool::Result<{task}> {{\nlet params = \
                 {values};\n{async_call}\n}}\n"
            );
        }
        if optional.is_empty() {
            continue;
        }
        let options = options_type(ctx, wire, &m.name);
        let _ = writeln!(
            s,
            "{}",
            options_struct(ctx, &options, &method, &optional_fields)
        );
        let pushes: Vec<String> = optional_fields
            .iter()
            .map(|(pn, p)| {
                format!(
                    "({}, optional.{pn}.as_ref().map(::xenpool::wire::to_value).transpose()?)",
                    lit(&p.name)
                )
            })
            .collect();
        let with_body = format!(
            "let mut params = {values};\n\
             ::xenpool::call::push_optional(&mut params, {}, [{}])?;",
            lit(&method),
            pushes.join(", ")
        );
        let with_sig = format!("{sig}, optional: &{G}::{options}");
        let _ = writeln!(
            fns,
            "/// `{method}` with its optional parameters: those set in `optional` are sent, the \
             others left for the host to fill in.\n\
             pub async fn {name}_with({with_sig}) -> ::xenpool::Result<{ret}> \
             {{\n{with_body}\n{call}\n}}\n"
        );
        if is_async {
            let _ = writeln!(
                fns,
                "/// `Async.{method}` with its optional parameters: runs [`{rust}::{name}_with`] \
                 as a task.\n\
                 pub async fn async_{name}_with({with_sig}) -> ::xenpool::Result<{task}> \
                 {{\n{with_body}\n{async_call}\n}}\n"
            );
        }
    }
    check_unique(
        &format!("messages of `{wire}`"),
        fn_names.iter().map(|(r, w)| (r.clone(), w.as_str())),
    )?;
    let _ = writeln!(
        s,
        "/// Messages of the `{wire}` class.\nimpl {rust} {{\n{fns}}}"
    );
    Ok(Module::new(&snake(wire), header, s))
}

fn gen_enums(ctx: &Ctx) -> Module {
    let header =
        "//! Every datamodel enumeration. Each has an `Unknown` variant that keeps values newer\n\
                  //! than this crate, and parses wire text ignoring ASCII case, as xapi does.\n\
                  #![allow(clippy::enum_variant_names)]"
            .to_string();
    let mut s = String::new();
    for (name, info) in &ctx.enums {
        let rust = &info.rust;
        let mut variants = String::new();
        let mut wire_arms = String::new();
        let mut exact_arms = String::new();
        let mut lower_arms = String::new();
        let mut lower_seen = HashSet::new();
        for (w, v) in &info.variants {
            let _ = writeln!(variants, "/// `{w}`\n{v},");
            let _ = writeln!(wire_arms, "Self::{v} => {},", lit(w));
            let _ = writeln!(exact_arms, "{} => Self::{v},", lit(w));
            let lower = w.to_ascii_lowercase();
            if lower_seen.insert(lower.clone()) {
                let _ = writeln!(lower_arms, "{} => Self::{v},", lit(&lower));
            }
        }
        let values: Vec<String> = info.variants.iter().map(|(w, _)| lit(w)).collect();
        let first = info
            .variants
            .first()
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "Unknown(String::new())".into());
        let _ = writeln!(
            s,
            r#"/// The datamodel enumeration `{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum {rust} {{
{variants}/// A value this crate does not know, kept verbatim.
Unknown(String),
}}

impl {rust} {{
    /// Every known wire value, in datamodel order.
    pub const WIRE_VALUES: &'static [&'static str] = &[{values}];

    /// The wire text of this value.
    pub fn wire(&self) -> &str {{
        match self {{
            {wire_arms}Self::Unknown(s) => s,
        }}
    }}

    /// Parses wire text: exact match first, then ignoring ASCII case; otherwise `Unknown`.
    pub fn from_wire(s: &str) -> Self {{
        match s {{
            {exact_arms}_ => match s.to_ascii_lowercase().as_str() {{
                {lower_arms}_ => Self::Unknown(s.to_string()),
            }},
        }}
    }}
}}

/// The first value in datamodel order, so a record built with `..Default::default()`
/// carries valid values (xapi refuses an empty enum string).
impl Default for {rust} {{
    fn default() -> Self {{
        Self::{first}
    }}
}}

impl ::std::str::FromStr for {rust} {{
    type Err = ::std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {{
        Ok(Self::from_wire(s))
    }}
}}

impl ::std::fmt::Display for {rust} {{
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{
        f.write_str(self.wire())
    }}
}}

impl ::serde::Serialize for {rust} {{
    fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {{
        s.serialize_str(self.wire())
    }}
}}

impl ::xenpool::dynamic::ToDyn for {rust} {{
    fn to_dyn(&self) -> ::xenpool::dynamic::Dyn {{
        ::xenpool::dynamic::Dyn::Enum(::xenpool::dynamic::EnumValue {{
            enumeration: {name_lit},
            value: self.wire().to_string(),
        }})
    }}
}}

impl<'de> ::serde::Deserialize<'de> for {rust} {{
    fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {{
        struct V;
        impl ::serde::de::Visitor<'_> for V {{
            type Value = {rust};
            fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{
                f.write_str("a `{name}` value")
            }}
            fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<{rust}, E> {{
                Ok({rust}::from_wire(v))
            }}
            fn visit_borrowed_str<E: ::serde::de::Error>(self, v: &str) -> Result<{rust}, E> {{
                Ok({rust}::from_wire(v))
            }}
            fn visit_string<E: ::serde::de::Error>(self, v: String) -> Result<{rust}, E> {{
                Ok(match {rust}::from_wire(&v) {{
                    {rust}::Unknown(_) => {rust}::Unknown(v),
                    known => known,
                }})
            }}
        }}
        d.deserialize_str(V)
    }}
}}
"#,
            values = values.join(", "),
            name_lit = lit(name)
        );
    }
    Module::new("enums", header, s)
}

/// ApiError members an accessor must not shadow (own methods and fields, and trait methods
/// callable with method syntax).
const API_ERROR_TAKEN: &[&str] = &[
    "param",
    "params",
    "description",
    "from_description",
    "code",
    "method",
    "to_string",
    "clone",
    "clone_from",
    "fmt",
    "source",
    "cause",
    "eq",
    "ne",
    "type_id",
    "provide",
    "to_owned",
];

fn gen_errors(errors: &Errors, core: bool) -> Result<Module> {
    let header =
        "//! XenAPI error codes from errors.json, and named parameter accessors on `ApiError`."
            .to_string();
    let mut defs: Vec<&ErrorDef> = errors.errors.iter().collect();
    defs.sort_by(|a, b| a.code.cmp(&b.code));
    defs.dedup_by(|a, b| a.code == b.code);
    let variant = |code: &str| {
        let v = camel(code);
        if v == "Unknown" {
            "UnknownValue".to_string()
        } else {
            v
        }
    };
    check_unique(
        "error codes",
        defs.iter().map(|d| (variant(&d.code), d.code.as_str())),
    )?;
    let (mut variants, mut all, mut from, mut wire, mut params) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    // accessor name -> (declared spellings in first-seen order, codes)
    let mut accessors: BTreeMap<String, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
    for d in &defs {
        let v = variant(&d.code);
        let declared = d.params.as_deref().unwrap_or(&[]);
        let doc = match &d.params {
            None => String::new(),
            Some(p) if p.is_empty() => " No parameters.".into(),
            Some(p) => format!(
                " Parameters: {}.",
                p.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let _ = writeln!(variants, "/// `{}`.{doc}\n{v},", d.code);
        let _ = writeln!(all, "ErrorCode::{v},");
        let _ = writeln!(from, "{} => Self::{v},", lit(&d.code));
        let _ = writeln!(wire, "Self::{v} => {},", lit(&d.code));
        if !declared.is_empty() {
            let list: Vec<String> = declared.iter().map(|p| lit(p)).collect();
            let _ = writeln!(params, "Self::{v} => &[{}],", list.join(", "));
        }
        for p in declared {
            let acc = snake(p);
            if API_ERROR_TAKEN.contains(&acc.as_str()) {
                continue;
            }
            let entry = accessors.entry(acc).or_default();
            if !entry.0.contains(p) {
                entry.0.push(p.clone());
            }
            entry.1.insert(d.code.clone());
        }
    }
    let mut s = format!(
        r#"/// A XenAPI error code. Codes newer than this crate are kept in `Unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {{
{variants}/// A code this crate does not know, kept verbatim.
Unknown(String),
}}

impl ErrorCode {{
    /// Every known code, sorted by wire text.
    pub const ALL: &'static [ErrorCode] = &[{all}];

    /// The code for wire text (exact match); unknown text becomes `Unknown`.
    pub fn from_wire(s: &str) -> Self {{
        match s {{
            {from}_ => Self::Unknown(s.to_string()),
        }}
    }}

    /// The wire text of this code.
    pub fn wire(&self) -> &str {{
        match self {{
            {wire}Self::Unknown(s) => s,
        }}
    }}

    /// Declared parameter names in wire order (empty when errors.json declares none).
    pub fn param_names(&self) -> &'static [&'static str] {{
        match self {{
            {params}_ => &[],
        }}
    }}
}}

impl ::std::fmt::Display for ErrorCode {{
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{
        f.write_str(self.wire())
    }}
}}

impl ::std::str::FromStr for ErrorCode {{
    type Err = ::std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {{
        Ok(Self::from_wire(s))
    }}
}}
"#
    );
    if core {
        let mut acc_fns = String::new();
        for (acc, (spellings, codes)) in &accessors {
            let codes: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
            let shown = if codes.len() > 4 {
                format!("{} and {} more", codes[..4].join(", "), codes.len() - 4)
            } else {
                codes.join(", ")
            };
            let mut body = format!("self.param({})", lit(&spellings[0]));
            for sp in &spellings[1..] {
                let _ = write!(body, ".or_else(|| self.param({}))", lit(sp));
            }
            let _ = writeln!(
                acc_fns,
                "/// The `{}` parameter, if this code declares it and the host sent it (declared \
                 by {shown}).\n\
                 pub fn {acc}(&self) -> Option<&str> {{ {body} }}\n",
                spellings.join("`/`")
            );
        }
        let _ = writeln!(
            s,
            "/// Named parameter accessors, one per parameter name declared in errors.json.\nimpl \
             ::xenpool::ApiError {{\n{acc_fns}}}"
        );
    }
    Ok(Module::new("errors", header, s))
}

fn gen_metadata(ctx: &Ctx, dm: &Datamodel, errors: &Errors) -> Module {
    let header =
        "//! Static tables behind `xenpool::meta`: classes, fields, messages, enums, error codes."
            .to_string();
    let mut s = String::from(
        "use ::xenpool::meta::{Api, ClassMeta, EnumMeta, ErrorMeta, FieldMeta, Lifecycle, \
         MessageMeta, ParamMeta, Qualifier, Ty};\n\n\
         /// Every class, in datamodel order.\npub static CLASSES: &[ClassMeta] = &[\n",
    );
    for class in &dm.classes {
        let _ = writeln!(
            s,
            "ClassMeta {{ name: {}, rust_name: {}, lifecycle: Lifecycle::{}, fields: &[",
            lit(&class.name),
            lit(&ctx.class_rust[&class.name]),
            lifecycle(&class.lifecycle.state)
        );
        for f in &class.fields {
            let q = match f.qualifier.as_str() {
                "RW" => "Rw",
                "RO/constructor" => "StaticRo",
                _ => "DynamicRo",
            };
            let default = match &f.default {
                Some(d) => format!("Some({})", lit(d)),
                None => "None".into(),
            };
            let _ = writeln!(
                s,
                "FieldMeta {{ name: {}, ty: {}, qualifier: Qualifier::{q}, default: {default}, \
                 lifecycle: Lifecycle::{} }},",
                lit(&f.name),
                ctx.meta(&ctx.ty(&f.ty)),
                lifecycle(&f.lifecycle.state)
            );
        }
        s.push_str("], messages: &[\n");
        for m in &class.messages {
            let ps: Vec<String> = message_params(m)
                .iter()
                .map(|p| {
                    format!(
                        "ParamMeta {{ name: {}, ty: {}, required: {} }}",
                        lit(&p.name),
                        ctx.meta(&ctx.ty(&p.ty)),
                        p.required
                    )
                })
                .collect();
            let result = if m.result == "void" {
                "None".into()
            } else {
                format!("Some({})", ctx.meta(&ctx.ty(&m.result)))
            };
            let errs: Vec<String> = m.errors.iter().map(|e| lit(e)).collect();
            let _ = writeln!(
                s,
                "MessageMeta {{ name: {}, params: &[{}], result: {result}, is_async: {}, session: \
                 {}, implicit: {}, hidden: {}, errors: &[{}], lifecycle: Lifecycle::{}, \
                 last_changed: {} }},",
                lit(&m.name),
                ps.join(", "),
                m.r#async == Some(true),
                m.session,
                m.implicit,
                m.hidden,
                errs.join(", "),
                lifecycle(&m.lifecycle.state),
                match m.lifecycle.last_changed() {
                    Some(r) => format!("Some({})", lit(r)),
                    None => "None".into(),
                }
            );
        }
        s.push_str("] },\n");
    }
    s.push_str(
        "];\n\n/// Every enumeration, sorted by name.\npub static ENUMS: &[EnumMeta] = &[\n",
    );
    for (name, info) in &ctx.enums {
        let values: Vec<String> = info.variants.iter().map(|(w, _)| lit(w)).collect();
        let _ = writeln!(
            s,
            "EnumMeta {{ name: {}, rust_name: {}, values: &[{}] }},",
            lit(name),
            lit(&info.rust),
            values.join(", ")
        );
    }
    s.push_str(
        "];\n\n/// Every error code, sorted by code.\npub static ERRORS: &[ErrorMeta] = &[\n",
    );
    let mut defs: Vec<&ErrorDef> = errors.errors.iter().collect();
    defs.sort_by(|a, b| a.code.cmp(&b.code));
    defs.dedup_by(|a, b| a.code == b.code);
    for d in defs {
        let ps: Vec<String> = d
            .params
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .map(|p| lit(p))
            .collect();
        let _ = writeln!(
            s,
            "ErrorMeta {{ code: {}, params: &[{}], declared: {} }},",
            lit(&d.code),
            ps.join(", "),
            d.params.is_some()
        );
    }
    s.push_str(
        "];\n\n/// All tables together.\npub static API: Api = Api { classes: CLASSES, \
        enums: ENUMS, errors: ERRORS };\n",
    );
    Module::new("metadata", header, s)
}

/// The Rust expression for a datamodel default that differs from the type's own
/// `Default` (so a record built with `..Default::default()` and sent to a constructor
/// carries what xapi would have filled in, e.g. `network.managed = true`).
fn scalar_default(t: &Ty, text: &str) -> Option<String> {
    let text = text.trim();
    match t {
        Ty::Bool => (text == "true").then(|| "true".to_string()),
        Ty::Int => text
            .parse::<i64>()
            .ok()
            .filter(|v| *v != 0)
            .map(|v| format!("{v}")),
        Ty::Float => text
            .trim_end_matches('.')
            .parse::<f64>()
            .ok()
            .filter(|v| *v != 0.0)
            .map(|v| format!("{v:?}")),
        Ty::String => {
            let inner = text.strip_prefix('"')?.strip_suffix('"')?;
            (!inner.is_empty()).then(|| format!("{}.to_string()", lit(inner)))
        }
        Ty::Map(k, v) if matches!(**k, Ty::String) && matches!(**v, Ty::String) => {
            let body = text.strip_prefix('{')?.strip_suffix('}')?.trim();
            if body.is_empty() {
                return None;
            }
            let mut pairs = Vec::new();
            for entry in body.split(',') {
                let (key, value) = entry.split_once("->")?;
                let key = key.trim().strip_prefix('"')?.strip_suffix('"')?;
                let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
                pairs.push(format!(
                    "({}.to_string(), {}.to_string())",
                    lit(key),
                    lit(value)
                ));
            }
            Some(format!(
                "::std::collections::HashMap::from([{}])",
                pairs.join(", ")
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn class(
        name: &str,
        fields: serde_json::Value,
        messages: serde_json::Value,
    ) -> serde_json::Value {
        json!({
            "name": name,
            "lifecycle": {"state": "Published_s"},
            "fields": fields,
            "messages": messages,
        })
    }

    fn field(name: &str) -> serde_json::Value {
        json!({
            "name": name,
            "type": "string",
            "qualifier": "RW",
            "lifecycle": {"state": "Published_s"},
        })
    }

    fn message(name: &str, params: serde_json::Value, is_async: bool) -> serde_json::Value {
        json!({
            "name": name,
            "params": params,
            "result": "void",
            "lifecycle": {"state": "Published_s"},
            "implicit": false,
            "async": is_async,
            "session": false,
        })
    }

    fn run(classes: serde_json::Value, enums: serde_json::Value) -> Result<Module> {
        let dm: Datamodel =
            serde_json::from_value(json!({"classes": classes, "enums": enums})).unwrap();
        let errors: Errors = serde_json::from_value(json!({"errors": []})).unwrap();
        generate(dm, &errors, false)
    }

    fn collision(classes: serde_json::Value, enums: serde_json::Value) -> String {
        let err = run(classes, enums)
            .err()
            .expect("generation must fail")
            .to_string();
        assert!(err.contains("collision"), "{err}");
        err
    }

    #[test]
    fn accepts_a_clean_model() {
        let task = class(
            "task",
            json!([field("uuid")]),
            json!([message("start", json!([]), true)]),
        );
        let module = run(json!([task]), json!({"mode": ["a-b", "A_B"]})).unwrap();
        let text = module.into_single_file("// banner");
        assert!(text.contains("pub async fn async_start("));
        assert!(text.contains("AB2"), "deduplicated variant");
    }

    #[test]
    fn optional_tails_get_a_with_form_and_an_options_struct() {
        let params = json!([
            {"name": "x", "type": "string", "required": true},
            {"name": "force", "type": "bool", "required": false},
            {"name": "password", "type": "string", "required": false}
        ]);
        let task = class(
            "task",
            json!([]),
            json!([message("go", params.clone(), true)]),
        );
        let text = run(json!([task]), json!({}))
            .unwrap()
            .into_single_file("// banner");
        for wanted in [
            "pub async fn go(c: &impl ::xenpool::Caller, x: &str)",
            "pub async fn go_with(",
            "pub async fn async_go_with(",
            "pub struct TaskGoOptions",
            "pub force: Option<bool>",
            "\"<redacted>\"",
        ] {
            assert!(text.contains(wanted), "missing {wanted}");
        }

        let misordered = json!([
            {"name": "force", "type": "bool", "required": false},
            {"name": "x", "type": "string", "required": true}
        ]);
        let err = run(
            json!([class(
                "x",
                json!([]),
                json!([message("m", misordered, false)])
            )]),
            json!({}),
        )
        .err()
        .expect("a required parameter after an optional one is refused")
        .to_string();
        assert!(err.contains("follows an optional one"), "{err}");

        // The options struct's name is checked against every other type name.
        collision(
            json!([
                class("a", json!([]), json!([message("b", params, false)])),
                class("a_b_options", json!([]), json!([]))
            ]),
            json!({}),
        );
    }

    #[test]
    fn class_collisions_fail() {
        let err = collision(
            json!([
                class("VM", json!([]), json!([])),
                class("Vm", json!([]), json!([]))
            ]),
            json!({}),
        );
        assert!(err.contains("`VM`") && err.contains("`Vm`"), "{err}");
        collision(
            json!([
                class("VM_record", json!([]), json!([])),
                class("VM", json!([]), json!([]))
            ]),
            json!({}),
        );
        collision(
            json!([class("vm", json!([]), json!([]))]),
            json!({"VM": []}),
        );
        collision(json!([]), json!({"error_code": []}));
    }

    #[test]
    fn field_message_and_param_collisions_fail() {
        collision(
            json!([class("x", json!([field("MAC"), field("mac")]), json!([]))]),
            json!({}),
        );
        collision(
            json!([class(
                "task",
                json!([]),
                json!([
                    message("start", json!([]), true),
                    message("async_start", json!([]), false)
                ])
            )]),
            json!({}),
        );
        collision(
            json!([class(
                "x",
                json!([]),
                json!([
                    message("Go", json!([]), false),
                    message("go", json!([]), false)
                ])
            )]),
            json!({}),
        );
        let params =
            json!([{"name": "self", "type": "string"}, {"name": "Self", "type": "string"}]);
        collision(
            json!([class("x", json!([]), json!([message("m", params, false)]))]),
            json!({}),
        );
    }

    #[test]
    fn async_needs_a_task_class() {
        let err = run(
            json!([class(
                "x",
                json!([]),
                json!([message("m", json!([]), true)])
            )]),
            json!({}),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("task"), "{err}");
    }
}
