//! What a hook of the proxy can do: decide what happens to a call before it goes on, and see
//! every call once it was answered.
//!
//! The proxy asks its hooks in order. Each may forward the call (the default), possibly asking
//! for the answer to be held back, or answer it itself, or reset the connection; the first hook
//! that does not forward decides, and the hooks after it are not asked (the call never reached
//! them). So a hook that admits a call and counts it against a limit (the limits model) goes
//! after hooks that may refuse it (faults). Every hook then sees the [`Exchange`].

use std::time::{Duration, Instant};

use hyper::body::Bytes;

use crate::answers::Answer;
use crate::call::Call;

/// What happens to the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The emulator answers.
    Forward,
    /// The proxy answers this, without forwarding.
    Answer(Answer),
    /// The connection is closed with a TCP reset before anything is forwarded.
    Reset,
    /// Forwarded (the emulator applies it), then the connection is closed with a TCP reset
    /// before the answer goes back: applied, but its answer lost. The hooks after the one that
    /// decided this are still asked (the call reaches the emulator).
    LoseAnswer,
}

/// A hook's decision on one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The answer is not given before this instant (a modelled service time), however soon the
    /// emulator answers.
    pub not_before: Option<Instant>,
    /// And then held back this much longer (an injected delay).
    pub delay: Duration,
}

impl Decision {
    pub fn forward() -> Self {
        Self {
            action: Action::Forward,
            not_before: None,
            delay: Duration::ZERO,
        }
    }

    pub fn answer(answer: Answer) -> Self {
        Self {
            action: Action::Answer(answer),
            ..Self::forward()
        }
    }

    pub fn reset() -> Self {
        Self {
            action: Action::Reset,
            ..Self::forward()
        }
    }

    pub fn lose_answer() -> Self {
        Self {
            action: Action::LoseAnswer,
            ..Self::forward()
        }
    }

    pub fn not_before(mut self, at: Instant) -> Self {
        self.not_before = Some(at);
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The emulator's answer was passed on.
    Forwarded,
    /// A hook answered.
    Answered,
    /// A hook reset the connection.
    Reset,
    /// The emulator answered, and a hook reset the connection instead of passing the answer
    /// on: the call was applied, its caller saw a reset.
    AnswerLost,
    /// The emulator could not be reached (answered 502): the proxy's own failure.
    Unreachable,
}

/// One call, once answered: what every hook sees.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub call: Call,
    /// The tag of the proxy endpoint the call came through ([`crate::proxy::Proxy::tagged_endpoint`]):
    /// which process made it, when each process has an endpoint of its own.
    pub origin: Option<std::sync::Arc<str>>,
    /// When the request had been read in full.
    pub arrived: Instant,
    /// The hook that decided, if one did not forward.
    pub decided_by: Option<&'static str>,
    pub ending: Ending,
    /// When the emulator was asked and when it had answered (forwarded calls only).
    pub upstream: Option<(Instant, Instant)>,
    /// The earliest answer time the hooks asked for.
    pub not_before: Option<Instant>,
    /// When the answer was handed back to the caller.
    pub answered: Instant,
    /// The HTTP status the caller got (0 for a reset connection); for [`Ending::AnswerLost`],
    /// the status the emulator answered, which the caller never got.
    pub status: u16,
    /// The error code of the answer, `None` for a success.
    pub error_code: Option<String>,
    pub request: Bytes,
    pub response: Bytes,
}

impl Exchange {
    /// The emulator answered 200: the call was applied, whether or not its caller got the answer.
    pub fn applied(&self) -> bool {
        matches!(self.ending, Ending::Forwarded | Ending::AnswerLost) && self.status == 200
    }

    /// The emulator took longer than the hooks' earliest answer time: its own time, not the
    /// model's, decided when the caller got the answer.
    pub fn emulator_was_slower(&self) -> bool {
        match (self.upstream, self.not_before) {
            (Some((_, done)), Some(not_before)) => done > not_before,
            _ => false,
        }
    }
}

/// A hook of the proxy.
pub trait Hook: Send + Sync {
    /// A short name, recorded as who decided.
    fn name(&self) -> &'static str;

    /// What happens to `call`, arrived at `now`.
    fn decide(&self, _call: &Call, _now: Instant) -> Decision {
        Decision::forward()
    }

    /// Every call once it was answered (reset calls too).
    fn observe(&self, _exchange: &Exchange) {}
}
