//! The invocation's deadline, as Lambda gives it, with local emulators' values tolerated.

use shared::Deadline;

/// `Deadline::from_context`, except a deadline already past when the invocation starts counts as
/// none. Lambda never starts an invocation after its deadline, but `cargo lambda watch` sends
/// `Lambda-Runtime-Deadline-Ms: 600000` (ten minutes after 1970) and a run would stop before its
/// first receive.
pub fn invocation_deadline(ctx: &lambda_runtime::Context) -> Deadline {
    let deadline = Deadline::from_context(ctx);
    if deadline.remaining().is_some_and(|left| left.is_zero()) {
        tracing::warn!(
            deadline_ms = ctx.deadline,
            "the invocation's deadline has already passed, so it is not a real Lambda deadline (a local emulator?); running without one"
        );
        return Deadline::NONE;
    }
    deadline
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn context(deadline_ms: u64) -> lambda_runtime::Context {
        let mut ctx = lambda_runtime::Context::default();
        ctx.deadline = deadline_ms;
        ctx
    }

    #[test]
    fn a_real_deadline_is_kept_and_an_impossible_one_ignored() {
        let in_a_minute = Deadline::after(Duration::from_secs(60));
        let kept = invocation_deadline(&context(in_a_minute.epoch_ms().unwrap()));
        assert_eq!(kept, in_a_minute);
        assert_eq!(
            invocation_deadline(&context(600_000)),
            Deadline::NONE,
            "cargo lambda watch"
        );
        assert_eq!(invocation_deadline(&context(0)), Deadline::NONE);
    }
}
