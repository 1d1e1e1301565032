//! Why a benchmark run stopped. Every variant names the function or resource involved.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{function}: cannot start {program}: {source}")]
    Spawn {
        function: String,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{function}: exited ({status}) before asking for its first invocation; see {log}")]
    ExitedDuringInit {
        function: String,
        status: String,
        log: PathBuf,
    },
    #[error("{function}: did not ask for an invocation within {seconds} s; see {log}")]
    InitTimeout {
        function: String,
        seconds: u64,
        log: PathBuf,
    },
    #[error("{function}: invocation failed ({detail}); see {log}")]
    Invocation {
        function: String,
        detail: String,
        log: PathBuf,
    },
    #[error(transparent)]
    Usage(#[from] crate::process_usage::UsageError),
    #[error("setting up {resource} in the emulator: {message}")]
    Setup { resource: String, message: String },
    #[error("{what}: {message}")]
    Check { what: String, message: String },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BenchError {
    pub fn setup(resource: impl Into<String>, message: impl std::fmt::Display) -> Self {
        BenchError::Setup {
            resource: resource.into(),
            message: message.to_string(),
        }
    }

    pub fn check(what: impl Into<String>, message: impl std::fmt::Display) -> Self {
        BenchError::Check {
            what: what.into(),
            message: message.to_string(),
        }
    }
}
