//! Every function the shell registers on its engine is declared once in `FUNCTIONS`
//! (so `:help` documents it and completion knows what it returns), and every declaration
//! is registered.

use std::collections::BTreeSet;

use rhai::Engine;
use xenpool_repl::functions::{self, FUNCTIONS};
use xenpool_repl::output::Output;
use xenpool_repl::{convert, errors, help, objects, start};

/// Names of the functions registered on `engine` (standard packages left out).
fn registered(engine: &Engine) -> BTreeSet<String> {
    engine
        .gen_fn_signatures(false)
        .iter()
        .filter_map(|sig| sig.split('(').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_registered_function_is_declared_and_every_declaration_registered() {
    let started = start::simulator("lab", Output::captured()).expect("the lab starts");
    let mut engine = Engine::new();
    functions::register(&mut engine, &started.state);
    // Types' getters and methods (`get$name`, `to_string`, `keys`, …) belong to the
    // object types, registered by these three.
    let mut types = Engine::new();
    objects::register(&mut types);
    errors::register(&mut types);
    convert::register(&mut types);
    let methods = registered(&types);
    let shell: BTreeSet<String> = registered(&engine).difference(&methods).cloned().collect();
    let declared: BTreeSet<String> = FUNCTIONS.iter().map(|f| f.name.to_string()).collect();
    assert!(
        shell.len() > 30,
        "the scan found the shell's functions: {shell:?}"
    );
    assert_eq!(
        shell.difference(&declared).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "registered but not declared"
    );
    assert_eq!(
        declared.difference(&shell).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "declared but not registered"
    );
}

#[test]
fn every_declaration_is_documented_once() {
    let mut seen = BTreeSet::new();
    for f in FUNCTIONS {
        assert!(seen.insert(f.name), "{} is declared twice", f.name);
        assert!(f.usage.contains(f.name), "{}: usage {:?}", f.name, f.usage);
        assert!(!f.summary.is_empty(), "{} has no help line", f.name);
        let text = help::help(f.name);
        assert!(text.contains(f.usage), ":help {} says {text:?}", f.name);
        let topic = help::help(f.topic);
        assert!(
            topic.contains(f.usage),
            ":help {} does not list {}",
            f.topic,
            f.name
        );
    }
}
