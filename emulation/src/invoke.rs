//! Invoking a function: what an invocation returned and the [`Invoker`]s that make one (a
//! [`crate::runtime_api::RuntimeApi`] in front of a process the runner owns, the worker pools of
//! [`crate::workers`], and `local`'s Invoke API client for `cargo lambda watch`).

use futures::future::BoxFuture;

/// What an invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `X-Amz-Function-Error`: set when the function failed (error, panic, timeout).
    pub function_error: Option<String>,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("invoking {function}: {message}")]
pub struct InvokeError {
    pub function: String,
    pub message: String,
}

/// Invokes functions. Implementations: the Runtime API, worker pools, the Invoke API over HTTP
/// (`local_stack::invoke::LambdaInvoker`) and test doubles.
pub trait Invoker: Send + Sync {
    fn invoke<'a>(&'a self, function: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>>;
}
