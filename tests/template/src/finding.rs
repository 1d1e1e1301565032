//! What a check reports: a resource and what is wrong with it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Logical id of the resource (or the template section) at fault.
    pub resource: String,
    pub message: String,
}

impl Finding {
    pub fn new(resource: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.resource, self.message)
    }
}

/// All findings, one per line, for assertion messages.
pub fn report(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("  - {f}\n")).collect()
}
