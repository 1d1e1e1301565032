//! A fault-injecting HTTP proxy on loopback, between the workers and the emulator (the workers'
//! `AWS_ENDPOINT_URL`). Each request draws, from the seeded generator, whether it gets a fault
//! and which:
//!
//! - **reset**: the connection is closed with a TCP reset before the request is forwarded (the
//!   SDK sees an I/O error; the emulator never sees the request);
//! - **delay**: forwarded, and the answer held back 50–1,000 ms (below every SDK attempt timeout
//!   of the workers, so a delay slows a call but never makes the SDK send it twice);
//! - **server error**: answered 500 InternalFailure in the service's protocol, not forwarded;
//! - **throttling**: answered with the service's throttling error, not forwarded.
//!
//! Faults that answer without forwarding never leave a half-applied write behind, so a retry is
//! always safe at the HTTP level; the run tests what the workers do with failed calls, kills and
//! redeliveries. (A response lost *after* the emulator applied the request is not injected: for
//! SNS Publish and SES SendEmail, which take no idempotency token, the SDK's own retry would send
//! twice, and no worker can prevent that; see docs/chaos.md.)
//!
//! The n-th request draws the n-th decision of the seed's sequence; which request is n-th depends
//! on scheduling, so a seed reproduces the faults' mix and rate, not which call gets which.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::fault_shapes::{ErrorAnswer, Service, error_response};
use crate::rng::Rng;

/// What the proxy did with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Forwarded,
    Reset,
    Delayed,
    ServerError,
    Throttled,
}

impl Outcome {
    pub const FAULTS: [Outcome; 4] = [
        Outcome::Reset,
        Outcome::Delayed,
        Outcome::ServerError,
        Outcome::Throttled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::Reset => "reset",
            Outcome::Delayed => "delayed",
            Outcome::ServerError => "500",
            Outcome::Throttled => "throttled",
        }
    }
}

/// Which faults the proxy draws from, and how often.
#[derive(Debug, Clone)]
pub struct FaultPolicy {
    pub rate: f64,
    /// The kinds drawn, equally likely. Default: all four.
    pub kinds: Vec<Outcome>,
    pub delay: (Duration, Duration),
}

impl FaultPolicy {
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            kinds: Outcome::FAULTS.to_vec(),
            delay: (Duration::from_millis(50), Duration::from_millis(1_000)),
        }
    }

    /// Every request gets `kind`: for tests of one fault's shape.
    pub fn always(kind: Outcome) -> Self {
        Self {
            rate: 1.0,
            kinds: vec![kind],
            ..Self::new(1.0)
        }
    }
}

struct State {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    rng: Mutex<Rng>,
    policy: FaultPolicy,
    /// The rate in force, as f64 bits: the run turns faults off for its calm phase.
    rate: AtomicU64,
    counts: Mutex<BTreeMap<(Service, Outcome), u64>>,
}

/// Per service, what the proxy did with how many requests.
pub type ProxyCounts = BTreeMap<(Service, Outcome), u64>;

pub struct FaultProxy {
    address: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FaultProxy {
    /// Listen on 127.0.0.1 (free port) and forward to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str, seed: u64, policy: FaultPolicy) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build_http(),
            rng: Mutex::new(Rng::fork(seed, "proxy")),
            rate: AtomicU64::new(policy.rate.to_bits()),
            policy,
            counts: Mutex::new(BTreeMap::new()),
        });
        let served = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                // Closing with SO_LINGER 0 sends a TCP reset: what a reset connection looks like.
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                let state = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { address, state, server })
    }

    /// The workers' `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Change the fault rate from now on (0: every request is forwarded untouched).
    pub fn set_rate(&self, rate: f64) {
        self.state.rate.store(rate.to_bits(), Ordering::Relaxed);
    }

    pub fn counts(&self) -> ProxyCounts {
        self.state.counts.lock().unwrap().clone()
    }
}

#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injected: connection reset")
    }
}

impl std::error::Error for ResetConnection {}

fn decide(state: &State) -> (Outcome, Duration) {
    let rate = f64::from_bits(state.rate.load(Ordering::Relaxed));
    let mut rng = state.rng.lock().unwrap();
    // Both draws happen whatever the rate, so the sequence does not depend on it.
    let faulty = rng.chance(rate);
    let kind = state.policy.kinds[rng.below(state.policy.kinds.len() as u64) as usize];
    let (low, high) = state.policy.delay;
    let delay = Duration::from_millis(rng.between(low.as_millis() as u64, high.as_millis() as u64));
    if faulty {
        (kind, delay)
    } else {
        (Outcome::Forwarded, delay)
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, ResetConnection> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let service = Service::identify(header("x-amz-target").as_deref(), header("authorization").as_deref());
    let (outcome, delay) = decide(&state);
    *state.counts.lock().unwrap().entry((service, outcome)).or_default() += 1;
    let answer = match outcome {
        Outcome::Reset => return Err(ResetConnection),
        Outcome::ServerError => Some(ErrorAnswer::ServerError),
        Outcome::Throttled => Some(ErrorAnswer::Throttling),
        Outcome::Forwarded | Outcome::Delayed => None,
    };
    if let Some(answer) = answer {
        // The request is read in full first, as a server does before answering.
        let _ = request.into_body().collect().await;
        let (status, headers, body) = error_response(service, answer);
        let mut response = Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        return Ok(response.body(Full::new(Bytes::from(body))).expect("a valid response"));
    }
    let response = forward(&state, request).await;
    if outcome == Outcome::Delayed {
        tokio::time::sleep(delay).await;
    }
    Ok(response)
}

/// The request as the emulator answers it; a failure to reach the emulator is a 502 (never
/// expected: moto runs for the whole run).
async fn forward(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut upstream = Request::builder()
        .method(parts.method)
        .uri(format!("{}{path}", state.upstream));
    for (name, value) in &parts.headers {
        upstream = upstream.header(name, value);
    }
    let upstream = upstream.body(Full::new(body)).expect("a valid request");
    match state.client.request(upstream).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            Response::from_parts(parts, Full::new(body))
        }
        Err(error) => Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!(
                "chaos proxy: emulator unreachable: {error}"
            ))))
            .expect("a valid response"),
    }
}
