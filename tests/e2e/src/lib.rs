//! Cross-function tests: each runs two or more of the workers against one moto, in the order
//! production hands work between them (a dead letter through dlq-redrive into ticket-processor,
//! …). Each function's own behaviour is tested in its crate; these test the hand-offs. The
//! tests are under `tests/`; this library is empty.
