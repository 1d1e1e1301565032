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
//! SNS Publish and SES SendEmail, which take no idempotency token, the worker classes it
//! ambiguous and its redelivery sends again, by design, and no worker can tell; see
//! docs/chaos.md. A reset or a 500 here looks just as ambiguous to the worker, which sends again
//! on redelivery: the emulator never saw the first, so the run still expects one send.)
//!
//! The proxy also records every SNS Publish and SESv2 SendEmail that the emulator accepted (HTTP
//! 200): what was sent, read on the wire at the emulator's door. (moto's `/moto-api/data.json`
//! holds the same facts, but it serialises every model instance moto ever created, and after a
//! full run that takes gigabytes and minutes; the short run checks that both agree.)
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
use crate::observe::{EmailSend, PushSend};
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
    sends: Mutex<Sends>,
    upstream_errors: Mutex<Vec<String>>,
}

/// Sends the emulator accepted, as the proxy saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sends {
    pub pushes: Vec<PushSend>,
    pub emails: Vec<EmailSend>,
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
            sends: Mutex::new(Sends::default()),
            upstream_errors: Mutex::new(Vec::new()),
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

    /// Requests the proxy could not forward (answered 502): the proxy's own failures, which
    /// must not happen for the run to mean anything.
    pub fn upstream_errors(&self) -> Vec<String> {
        self.state.upstream_errors.lock().unwrap().clone()
    }

    /// Every Publish and SendEmail the emulator accepted so far.
    pub fn sends(&self) -> Sends {
        self.state.sends.lock().unwrap().clone()
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
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    // Forwarded and recorded in a task of its own: when a killed worker's connection closes,
    // hyper drops this handler, but a request already on its way to the emulator is applied
    // there, and its send must still be recorded.
    let response = tokio::spawn(async move {
        let response = forward(&state, parts, body.clone()).await;
        if response.status() == 200 {
            record_send(&state, service, &path, &body);
        }
        response
    })
    .await
    .expect("forwarding does not panic");
    if outcome == Outcome::Delayed {
        tokio::time::sleep(delay).await;
    }
    Ok(response)
}

/// Keeps an accepted SNS Publish or SESv2 SendEmail.
fn record_send(state: &State, service: Service, path: &str, body: &[u8]) {
    match service {
        Service::Sns => {
            let form = form_fields(body);
            if form.get("Action").map(String::as_str) != Some("Publish") {
                return;
            }
            let mut attributes = BTreeMap::new();
            for n in 1.. {
                let Some(name) = form.get(&format!("MessageAttributes.entry.{n}.Name")) else {
                    break;
                };
                let value = form
                    .get(&format!("MessageAttributes.entry.{n}.Value.StringValue"))
                    .cloned()
                    .unwrap_or_default();
                attributes.insert(name.clone(), value);
            }
            let topic = form.get("TopicArn").or_else(|| form.get("TargetArn")).cloned();
            state.sends.lock().unwrap().pushes.push(PushSend {
                topic_arn: topic.unwrap_or_default(),
                text: form.get("Message").cloned().unwrap_or_default(),
                attributes,
            });
        }
        Service::Ses if path.ends_with("/outbound-emails") => {
            let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
                return;
            };
            let simple = &request["Content"]["Simple"];
            let html = simple["Body"]["Html"]["Data"].as_str();
            let text = simple["Body"]["Text"]["Data"].as_str();
            state.sends.lock().unwrap().emails.push(EmailSend {
                source: request["FromEmailAddress"].as_str().unwrap_or_default().to_owned(),
                to: request["Destination"]["ToAddresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                subject: simple["Subject"]["Data"].as_str().unwrap_or_default().to_owned(),
                // As moto keeps it: the HTML part when there is one.
                body: html.or(text).unwrap_or_default().to_owned(),
            });
        }
        _ => {}
    }
}

/// `application/x-www-form-urlencoded` (awsQuery bodies) into its fields.
pub fn form_fields(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request as the emulator answers it; a failure to reach the emulator is a 502 (never
/// expected: moto runs for the whole run).
async fn forward(state: &State, parts: hyper::http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
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
        Err(error) => {
            state.upstream_errors.lock().unwrap().push(format!("{path}: {error:?}"));
            Response::builder()
                .status(502)
                .body(Full::new(Bytes::from(format!(
                    "chaos proxy: emulator unreachable: {error}"
                ))))
                .expect("a valid response")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bodies_decode_into_their_fields() {
        let fields = form_fields(b"Action=Publish&Message=Sorry%2C+evt-001+is+sold%20out.&Bad=%zz%4");
        assert_eq!(fields["Action"], "Publish");
        assert_eq!(fields["Message"], "Sorry, evt-001 is sold out.");
        assert_eq!(fields["Bad"], "%zz%4");
        let korean = form_fields("Message=%EC%A3%84%EC%86%A1".as_bytes());
        assert_eq!(korean["Message"], "죄송");
    }
}
