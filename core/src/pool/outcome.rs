//! What every pool workflow returns: the plan of calls, whether it ran, whether it ran to
//! its end, and the workflow's own detail. One shape, serialised flat, so that every front
//! end shows the same fields: `{plan, executed, complete, …detail}`.

use std::ops::{Deref, DerefMut};

use serde::Serialize;

use super::plan::Plan;

/// The outcome of a pool workflow (or, in a dry run, what it would do).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome<D> {
    /// The calls made (or, in a dry run, to be made).
    pub plan: Plan,
    /// Whether anything ran: false for a dry run.
    pub executed: bool,
    /// Whether it ran and did all it set out to (a dry run is never complete).
    pub complete: bool,
    /// What this workflow reports of its own: the VMs moved, the SR made, …
    #[serde(flatten)]
    pub detail: D,
}

impl<D> Outcome<D> {
    /// A dry run's outcome: nothing ran.
    pub fn dry_run(plan: Plan, detail: D) -> Self {
        Outcome {
            plan,
            executed: false,
            complete: false,
            detail,
        }
    }

    /// The outcome of a workflow that ran to its end.
    pub fn done(plan: Plan, detail: D) -> Self {
        Outcome {
            plan,
            executed: true,
            complete: true,
            detail,
        }
    }

    /// [`Outcome::done`] when `executed`, else [`Outcome::dry_run`].
    pub fn new(plan: Plan, executed: bool, detail: D) -> Self {
        match executed {
            true => Outcome::done(plan, detail),
            false => Outcome::dry_run(plan, detail),
        }
    }

    /// Whether it ran and did all it set out to.
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

/// The detail's fields read as the outcome's own (`outcome.moved`), as they serialise.
impl<D> Deref for Outcome<D> {
    type Target = D;
    fn deref(&self) -> &D {
        &self.detail
    }
}

impl<D> DerefMut for Outcome<D> {
    fn deref_mut(&mut self) -> &mut D {
        &mut self.detail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Moved {
        moved: Vec<String>,
    }

    #[test]
    fn serialises_flat_with_the_detail_beside_the_plan() {
        let done = Outcome::done(
            Plan::new("evacuate a"),
            Moved {
                moved: vec!["web".into()],
            },
        );
        let json = serde_json::to_value(&done).unwrap();
        assert_eq!(json["executed"], true);
        assert_eq!(json["complete"], true);
        assert_eq!(json["moved"], serde_json::json!(["web"]));
        assert_eq!(json["plan"]["operation"], "evacuate a");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["complete", "executed", "moved", "plan"]);
        // A workflow with nothing of its own to say has the three shared fields only.
        let dry = serde_json::to_value(Outcome::dry_run(Plan::new("disable HA"), ())).unwrap();
        assert_eq!(
            dry.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["complete", "executed", "plan"]
        );
        assert_eq!(dry["complete"], false);
    }
}
