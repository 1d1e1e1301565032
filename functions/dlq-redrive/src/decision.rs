//! What a replay does with one dead letter, before sending anything. A dry run reports the same
//! decisions as verdicts, so flipping `dryRun` to false does what the dry run said.

use crate::copy::LetterCopy;
use crate::error::MessageError;
use crate::filter::Filter;
use crate::letter::Letter;

pub(crate) enum Decision {
    Send(LetterCopy),
    /// Does not match the filter.
    Skip,
    /// `redrive-count` has reached the limit.
    Park,
    Fail(MessageError),
}

/// The checks, in order: filter, redrive count, limit, whether SQS would accept the copy.
pub(crate) fn decide(letter: &Letter, filter: &Filter, max_redrive_count: u32, fifo: bool) -> Decision {
    if !filter.matches(letter) {
        return Decision::Skip;
    }
    let count = match letter.redrive_count() {
        Ok(count) => count,
        Err(error) => return Decision::Fail(error),
    };
    if count >= max_redrive_count {
        return Decision::Park;
    }
    match LetterCopy::of(letter, count + 1, fifo) {
        Ok(copy) => Decision::Send(copy),
        Err(error) => Decision::Fail(error),
    }
}
