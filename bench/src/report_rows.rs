//! The parts both report modules fill in ([`crate::report`]'s sections 1-5 and
//! [`crate::lambda_report`]'s 6-9): the goals table's rows and the template's context.

/// One row of the goals table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Goal {
    /// The issue that set it.
    pub issue: u32,
    pub goal: String,
    pub target: String,
    pub measured: String,
    pub status: &'static str,
}

impl Goal {
    pub fn new(
        issue: u32,
        goal: impl Into<String>,
        target: impl Into<String>,
        measured: String,
        met: Option<bool>,
    ) -> Self {
        Self {
            issue,
            goal: goal.into(),
            target: target.into(),
            measured,
            status: status(met),
        }
    }
}

pub(crate) fn status(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "n/a",
    }
}

/// The template's variables, by name.
pub(crate) type Context = std::collections::BTreeMap<&'static str, minijinja::Value>;

pub(crate) fn value(v: impl serde::Serialize) -> minijinja::Value {
    minijinja::Value::from_serialize(v)
}
