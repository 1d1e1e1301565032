//! Configuration from environment variables, read once at cold start. Every error names the variable.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

/// A configuration a function cannot start with; the message names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("missing environment variable {name}: {purpose}")]
    Missing {
        /// The variable.
        name: String,
        /// What the function needs it for.
        purpose: String,
    },
    /// A variable is set but does not parse.
    #[error("environment variable {name} has a malformed value {value:?}: {reason}")]
    Malformed {
        /// The variable.
        name: String,
        /// Its value, as set.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
}

/// A snapshot of environment variables. Functions read their configuration from one, so tests
/// build it from pairs instead of touching the process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: HashMap<String, String>,
}

impl Environment {
    /// The process's environment, as it is now.
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    /// Exactly these variables (for tests); a later pair overrides an earlier one of the same name.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    /// A function's configuration read from this environment by `read` (its `from_env`) at cold
    /// start, the first step of every function's `main`. A failure is logged (one error event
    /// naming the variable) before it is returned, so the function's own log says why its init
    /// failed, besides Lambda's init error.
    pub fn at_cold_start<T>(&self, read: impl FnOnce(&Self) -> Result<T, ConfigError>) -> Result<T, ConfigError> {
        read(self).inspect_err(|error| tracing::error!(%error, "cold start failed: configuration"))
    }

    /// The value, or `None` when unset or empty (CloudFormation writes empty strings for unset
    /// optional parameters).
    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }

    /// A value that must be present; `purpose` says what it is for in the error.
    pub fn required(&self, name: &str, purpose: &str) -> Result<String, ConfigError> {
        self.optional(name).ok_or_else(|| ConfigError::Missing {
            name: name.to_owned(),
            purpose: purpose.to_owned(),
        })
    }

    /// A parsed value, or `default` when unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|e: T::Err| ConfigError::Malformed {
                name: name.to_owned(),
                reason: e.to_string(),
                value,
            }),
        }
    }

    /// A parsed value that must lie in `range`.
    pub fn parse_in<T>(&self, name: &str, default: T, range: std::ops::RangeInclusive<T>) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
        T::Err: Display,
    {
        let value = self.parse_or(name, default)?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::Malformed {
                name: name.to_owned(),
                value: value.to_string(),
                reason: format!("must be between {} and {}", range.start(), range.end()),
            })
        }
    }

    /// A switch: `on`/`off` (or `true`/`false`, any case), or `default` when unset.
    pub fn switch(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(value) => match value.as_str() {
                "on" | "true" => Ok(true),
                "off" | "false" => Ok(false),
                _ => Err(ConfigError::Malformed {
                    name: name.to_owned(),
                    value,
                    reason: "expected on or off".into(),
                }),
            },
        }
    }

    /// A value that must name an SQS queue URL (`http(s)://…/<account>/<name>`).
    pub fn queue_url(&self, name: &str, purpose: &str) -> Result<String, ConfigError> {
        let value = self.required(name, purpose)?;
        check_queue_url(name, value)
    }

    /// An optional queue URL, checked when present.
    pub fn optional_queue_url(&self, name: &str) -> Result<Option<String>, ConfigError> {
        self.optional(name)
            .map(|value| check_queue_url(name, value))
            .transpose()
    }
}

fn check_queue_url(name: &str, value: String) -> Result<String, ConfigError> {
    let well_formed = (value.starts_with("https://") || value.starts_with("http://"))
        && value
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .is_some_and(|queue| !queue.is_empty())
        && value.matches('/').count() >= 4;
    if well_formed {
        Ok(value)
    } else {
        Err(ConfigError::Malformed {
            name: name.to_owned(),
            value,
            reason: "expected an SQS queue URL such as https://sqs.<region>.amazonaws.com/<account>/<queue>".into(),
        })
    }
}
