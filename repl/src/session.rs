//! A shell session: the Rhai engine with the xenpool functions, the variables and functions
//! defined so far, and evaluation of one entry (a line, a block, a script).

use std::rc::Rc;

use rhai::{AST, Dynamic, Engine, EvalAltResult, ParseErrorType, Scope};

use crate::cancel::Epoch;
use crate::display;
use crate::functions;
use crate::output::Output;
use crate::state::State;

/// Why an entry produced no value.
#[derive(Debug)]
pub enum Failure {
    /// The text does not parse (rendered with the line and a caret).
    Syntax(String),
    /// It ran and failed (rendered likewise).
    Runtime(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Syntax(s) | Failure::Runtime(s) => f.write_str(s),
        }
    }
}

/// The engine and everything an interactive session or a script accumulates.
pub struct Shell {
    engine: Engine,
    scope: Scope<'static>,
    functions: AST,
    state: Rc<State>,
    last_failed: bool,
    /// The last value shown, for `:full`.
    last_value: Option<Dynamic>,
}

impl Shell {
    /// A shell on `state`; `args` become the script's `ARGS` array.
    pub fn new(state: Rc<State>, args: Vec<String>) -> Self {
        let mut engine = Engine::new();
        functions::register(&mut engine, &state);
        let out = state.out.clone();
        engine.on_print(move |text| out.line(text));
        let out = state.out.clone();
        engine.on_debug(move |text, _, pos| out.note(&format!("[debug {pos}] {text}")));
        let watched = state.clone();
        engine.on_progress(move |_| {
            watched
                .epoch
                .borrow()
                .is_cancelled()
                .then(|| Dynamic::from("cancelled (Ctrl-C); the session is still logged in"))
        });
        let mut scope = Scope::new();
        scope.push_constant(
            "ARGS",
            args.into_iter().map(Dynamic::from).collect::<rhai::Array>(),
        );
        Shell {
            engine,
            scope,
            functions: AST::empty(),
            state,
            last_failed: false,
            last_value: None,
        }
    }

    /// The shared state.
    pub fn state(&self) -> &Rc<State> {
        &self.state
    }

    /// Names of the variables defined so far.
    pub fn variables(&self) -> Vec<String> {
        self.scope
            .iter()
            .map(|(name, _, _)| name.to_string())
            .collect()
    }

    /// The value of a variable defined so far.
    pub fn variable(&self, name: &str) -> Option<Dynamic> {
        self.scope.get_value::<Dynamic>(name)
    }

    /// Names of the script functions defined so far.
    pub fn script_functions(&self) -> Vec<String> {
        self.functions
            .iter_functions()
            .map(|f| f.name.to_string())
            .collect()
    }

    /// True when `text` is the start of an entry that needs more lines (an open block,
    /// bracket or string).
    pub fn is_incomplete(&self, text: &str) -> bool {
        let Err(e) = self.engine.compile_with_scope(&self.scope, text) else {
            return false;
        };
        match e.err_type() {
            ParseErrorType::UnexpectedEOF => true,
            // A token missing at the very end (`foo(1`), not in the middle (`foo(1 2)`).
            ParseErrorType::MissingToken(..) => {
                let end = text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .last()
                    .map(|(i, l)| (i + 1, l.trim_end().chars().count()))
                    .unwrap_or((0, 0));
                let at = (
                    e.position().line().unwrap_or(0),
                    e.position().position().unwrap_or(usize::MAX),
                );
                at.0 > end.0 || (at.0 == end.0 && at.1 > end.1)
            }
            _ => false,
        }
    }

    /// Evaluates one entry. `name` labels error locations (`<input>` or a script path).
    pub fn eval(&mut self, name: &str, text: &str) -> Result<Dynamic, Failure> {
        let colour = self.state.out.colour;
        let ast = self
            .engine
            .compile_with_scope(&self.scope, text)
            .map_err(|e| {
                let shown = self.state.secrets.redact(text);
                Failure::Syntax(display::parse_error(name, &shown, &e, colour))
            })?;
        let program = self.functions.merge(&ast);
        self.state.epoch.replace(Epoch::now());
        let _cancellable = crate::cancel::Evaluating::start();
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program);
        // Keep the functions defined by this entry, not its statements.
        let mut functions = program;
        functions.clear_statements();
        self.functions = functions;
        result.map_err(|e| Failure::Runtime(self.render(name, text, &e)))
    }

    /// The error with its source line, passwords masked (the caret may then sit a few
    /// columns off on that line).
    fn render(&self, name: &str, text: &str, e: &EvalAltResult) -> String {
        let shown = self.state.secrets.redact(text);
        display::error(name, &shown, e, self.state.out.colour)
    }

    /// Prints a value (`whole`: every row of a big result); the references an outcome or a
    /// single record shows read as `name (uuid)`.
    pub fn show(&self, value: &Dynamic, whole: bool) {
        let is_record = value.is::<crate::convert::XenRecord>();
        let value = self.readable(value.clone());
        let colour = self.state.out.colour;
        let text = if whole {
            display::render_full(&value, colour)
        } else {
            display::render(&value, colour)
        };
        let Some(mut text) = text else {
            return;
        };
        if is_record {
            text = self.state.readable_text(&text, &|_| None);
        }
        self.state.out.line(text.trim_end());
    }

    /// An operation's outcome with the objects its plan and summary name by reference
    /// shown as `name (uuid)`; any other value as it is.
    fn readable(&self, value: Dynamic) -> Dynamic {
        match value.clone().try_cast::<crate::objects::Outcome>() {
            Some(mut o) => {
                let none = |_: &str| None;
                o.plan = self.state.readable_text(&o.plan, &none);
                o.summary = self.state.readable_text(&o.summary, &none);
                Dynamic::from(o)
            }
            None => value,
        }
    }

    /// Evaluates an entry and prints its value or its error; true when it succeeded.
    pub fn eval_and_show(&mut self, name: &str, text: &str) -> bool {
        match self.eval(name, text) {
            Ok(value) => {
                // A password (from password()) is never echoed back.
                match value.clone().into_string() {
                    Ok(text) if self.state.secrets.contains(&text) => {
                        self.state.out.line("********")
                    }
                    _ => {
                        self.show(&value, false);
                        self.last_value = Some(value);
                    }
                }
                true
            }
            Err(failure) => {
                self.state.out.note(&failure.to_string());
                false
            }
        }
    }

    /// One entry as typed at the prompt: `:help [topic]`, `:full` (the last result whole),
    /// `:quit`, or Rhai (its value or error printed). False when the user asked to leave.
    pub fn entry(&mut self, text: &str) -> bool {
        let trimmed = text.trim();
        if matches!(trimmed, ":quit" | ":q" | "exit" | "quit") {
            return false;
        }
        if let Some(topic) = trimmed.strip_prefix(":help") {
            self.state.out.line(crate::help::help(topic).trim_end());
        } else if trimmed == ":full" {
            match self.last_value.clone() {
                Some(value) => self.show(&value, true),
                None => self.state.out.note("no result to show yet"),
            }
        } else if trimmed.starts_with(':') {
            self.state
                .out
                .note(&format!("unknown command {trimmed}; try :help"));
        } else if !trimmed.is_empty() {
            self.last_failed = !self.eval_and_show("<input>", text);
        }
        true
    }

    /// Whether the last entry failed.
    pub fn last_failed(&self) -> bool {
        self.last_failed
    }

    /// Output written so far (when capturing).
    pub fn take_output(&self) -> String {
        self.state.out.take()
    }

    /// The output channel.
    pub fn out(&self) -> &Output {
        &self.state.out
    }
}
