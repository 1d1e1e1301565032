//! Duplicate deliveries: SQS may hand the same message to two consumers at once (at-least-once
//! delivery). At the duplicate rate, this invoker also gives the batch to a second process of the
//! pool, concurrently; the event source mapping acts on the first one's answer only, as the
//! second consumer's answer would be about its own receipt.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use emulation::invoke::{Invocation, InvokeError, Invoker};
use futures::future::BoxFuture;

use emulation::rng::Rng;

pub struct DuplicatingInvoker {
    inner: Arc<dyn Invoker>,
    rate: f64,
    rng: Mutex<Rng>,
    pub invocations: AtomicU64,
    pub duplicated: AtomicU64,
    /// Second copies still running: the run waits for them before it checks anything.
    pub duplicates_in_flight: Arc<AtomicU64>,
    /// Every batch handed to the function, when, as the messageIds of its records in event
    /// order: what SQS (the emulator) delivered together, for the FIFO order check.
    pub deliveries: Mutex<Vec<(std::time::Instant, Vec<String>)>>,
}

impl DuplicatingInvoker {
    pub fn new(inner: Arc<dyn Invoker>, rate: f64, rng: Rng) -> Self {
        Self {
            inner,
            rate,
            rng: Mutex::new(rng),
            invocations: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            duplicates_in_flight: Arc::new(AtomicU64::new(0)),
            deliveries: Mutex::new(Vec::new()),
        }
    }
}

/// The messageIds of an SQS event's records, in order.
pub fn message_ids(payload: &[u8]) -> Vec<String> {
    emulation::workers::record_field(payload, "messageId")
}

impl Invoker for DuplicatingInvoker {
    fn invoke<'a>(&'a self, function: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(async move {
            self.invocations.fetch_add(1, Ordering::Relaxed);
            self.deliveries
                .lock()
                .unwrap()
                .push((std::time::Instant::now(), message_ids(&payload)));
            if self.rng.lock().unwrap().chance(self.rate) {
                self.duplicated.fetch_add(1, Ordering::Relaxed);
                let (inner, in_flight) = (self.inner.clone(), self.duplicates_in_flight.clone());
                let (function, copy) = (function.to_owned(), payload.clone());
                in_flight.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let _ = inner.invoke(&function, copy).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
            self.inner.invoke(function, payload).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(Mutex<Vec<Vec<u8>>>);

    impl Invoker for Counting {
        fn invoke<'a>(&'a self, _f: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
            self.0.lock().unwrap().push(payload);
            Box::pin(async {
                Ok(Invocation {
                    function_error: None,
                    payload: b"{}".to_vec(),
                })
            })
        }
    }

    #[tokio::test]
    async fn at_rate_one_every_batch_reaches_the_function_twice_and_at_zero_once() {
        for (rate, expected) in [(1.0, 2), (0.0, 1)] {
            let inner = Arc::new(Counting(Mutex::new(Vec::new())));
            let invoker = DuplicatingInvoker::new(inner.clone(), rate, Rng::new(1));
            invoker.invoke("f", b"batch".to_vec()).await.unwrap();
            while invoker.duplicates_in_flight.load(Ordering::SeqCst) > 0 {
                tokio::task::yield_now().await;
            }
            let seen = inner.0.lock().unwrap().clone();
            assert_eq!(seen.len(), expected, "rate {rate}");
            assert!(seen.iter().all(|p| p == b"batch"));
        }
    }
}
