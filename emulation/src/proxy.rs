//! The one loopback proxy between the workers and the emulator (the workers'
//! `AWS_ENDPOINT_URL`). It reads each request in full, identifies the call once ([`Call`]:
//! service, operation, tables, item keys, queue, topic), lets its [`Hook`]s decide what happens
//! to it, forwards it or answers it, and shows every hook the [`Exchange`].
//!
//! - Forwarding keeps connections alive, as AWS endpoints do: moto answers `Connection: close`,
//!   and hop-by-hop headers are not a proxy's to pass on.
//! - A forwarded call runs in a task of its own: when a killed worker's connection closes, hyper
//!   drops the handler, but a request already on its way to the emulator is applied there, and
//!   its exchange must still be seen (the chaos run's record of sends depends on it).
//! - A hook may hold the answer back until a modelled service time has passed: the emulator's
//!   own time then only counts where it is longer ([`Exchange::emulator_was_slower`]).
//! - Closing with SO_LINGER 0 sends a TCP reset: what a reset fault looks like to the SDK, before
//!   forwarding (never applied) or after the emulator answered (applied, answer lost).
//! - One emulator serves every service by default; [`Upstreams::with`] sends one service's calls
//!   to another (the flash sale runs DynamoDB in a moto process of its own, so its serialised
//!   requests no longer wait for SQS's and SES's on one Python interpreter's lock).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::answers::{Answer, error_code};
use crate::call::{Call, RequestFacts, Service};
use crate::hook::{Action, Decision, Ending, Exchange, Hook};
use crate::tables::Tables;

type Upstream = Client<HttpConnector, Full<Bytes>>;

/// Where the proxy forwards: one emulator for every service, or one per service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstreams {
    default: String,
    routes: Vec<(Service, String)>,
}

impl Upstreams {
    /// Every call to `upstream` (`http://127.0.0.1:<port>`).
    pub fn one(upstream: &str) -> Self {
        Self {
            default: upstream.trim_end_matches('/').to_owned(),
            routes: Vec::new(),
        }
    }

    /// `service`'s calls to `upstream` instead.
    pub fn with(mut self, service: Service, upstream: &str) -> Self {
        self.routes.retain(|(s, _)| *s != service);
        self.routes.push((service, upstream.trim_end_matches('/').to_owned()));
        self
    }

    /// The emulator that answers `service`.
    pub fn of(&self, service: Service) -> &str {
        self.routes
            .iter()
            .find(|(s, _)| *s == service)
            .map_or(&self.default, |(_, upstream)| upstream)
    }
}

struct State {
    upstreams: Upstreams,
    client: Upstream,
    tables: Tables,
    hooks: Vec<Arc<dyn Hook>>,
    next_id: AtomicU64,
    connections: AtomicUsize,
    upstream_errors: Mutex<Vec<String>>,
}

/// The proxy, serving on a free loopback port until dropped.
pub struct Proxy {
    address: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
    /// The listeners of the tagged endpoints.
    tagged: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
        for server in self.tagged.lock().unwrap().drain(..) {
            server.abort();
        }
    }
}

#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by a hook")
    }
}

impl std::error::Error for ResetConnection {}

impl Proxy {
    /// Listen on 127.0.0.1 (free port), forward to `upstream` (`http://127.0.0.1:<port>`), and
    /// ask `hooks` in this order.
    pub async fn start(upstream: &str, hooks: Vec<Arc<dyn Hook>>) -> std::io::Result<Self> {
        Self::start_routed(Upstreams::one(upstream), hooks).await
    }

    /// [`Proxy::start`], forwarding each service's calls to its emulator in `upstreams`.
    pub async fn start_routed(upstreams: Upstreams, hooks: Vec<Arc<dyn Hook>>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build_http(),
            tables: Tables::new(upstreams.of(Service::DynamoDb)).await,
            upstreams,
            hooks,
            next_id: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            upstream_errors: Mutex::new(Vec::new()),
        });
        let server = tokio::spawn(serve(listener, state.clone(), None));
        Ok(Self {
            address,
            state,
            server,
            tagged: Mutex::new(Vec::new()),
        })
    }

    /// A second endpoint of the same proxy (same hooks, same state) whose calls carry `tag` as
    /// their [`Exchange::origin`]: give each process its own, and every exchange says which
    /// process made the call.
    pub async fn tagged_endpoint(&self, tag: &str) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(serve(listener, self.state.clone(), Some(Arc::from(tag))));
        self.tagged.lock().unwrap().push(server);
        Ok(format!("http://{address}"))
    }

    /// `AWS_ENDPOINT_URL` for the processes whose calls go through the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// TCP connections opened to the proxy since the last call.
    pub fn take_connections(&self) -> usize {
        self.state.connections.swap(0, Ordering::Relaxed)
    }

    /// Requests the proxy could not forward (answered 502): the proxy's own failures, which
    /// must not happen for a run to mean anything.
    pub fn upstream_errors(&self) -> Vec<String> {
        self.state.upstream_errors.lock().unwrap().clone()
    }
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<State>, origin: Option<Arc<str>>) {
    let counted = state.clone();
    let accepted = move |stream: &tokio::net::TcpStream| {
        counted.connections.fetch_add(1, Ordering::Relaxed);
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
    };
    crate::serve::http1(listener, accepted, move |request| {
        handle(state.clone(), origin.clone(), request)
    })
    .await;
}

fn header(request: &Request<Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn handle(
    state: Arc<State>,
    origin: Option<Arc<str>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ResetConnection> {
    let target = header(&request, "x-amz-target");
    let authorization = header(&request, "authorization");
    let (mut parts, body) = request.into_parts();
    // The request is read in full first, as a server does before answering.
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let arrived = Instant::now();
    let path = parts.uri.path().to_owned();
    let facts = RequestFacts::new(
        parts.method.as_str(),
        &path,
        target.as_deref(),
        authorization.as_deref(),
        &body,
    );
    state.tables.learn(&facts.tables()).await;
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let call = facts.identify(id, &|table| state.tables.get(table));
    let (decision, decided_by) = decide(&state.hooks, &call, arrived);
    strip_hop_by_hop(&mut parts.headers);
    // Forwarded, held and observed in a task of its own (see the module comment).
    let exchange = tokio::spawn(exchange(
        state,
        Called { call, origin, arrived },
        parts,
        body,
        decision,
        decided_by,
    ));
    let (response, reset) = exchange.await.expect("an exchange does not panic");
    if reset {
        return Err(ResetConnection);
    }
    Ok(response)
}

/// Ask the hooks in order: timing requests add up, the first that does not forward decides.
fn decide(hooks: &[Arc<dyn Hook>], call: &Call, now: Instant) -> (Decision, Option<&'static str>) {
    let mut combined = Decision::forward();
    let mut decided_by = None;
    for hook in hooks {
        let decision = hook.decide(call, now);
        combined.not_before = combined.not_before.max(decision.not_before);
        combined.delay += decision.delay;
        match decision.action {
            Action::Forward => {}
            // Still forwarded: the hooks after it see the call reach the emulator.
            Action::LoseAnswer => {
                combined.action = Action::LoseAnswer;
                decided_by = Some(hook.name());
            }
            action => {
                combined.action = action;
                return (combined, Some(hook.name()));
            }
        }
    }
    (combined, decided_by)
}

/// A call as it arrived: what it is, through which endpoint, and when.
struct Called {
    call: Call,
    origin: Option<Arc<str>>,
    arrived: Instant,
}

async fn exchange(
    state: Arc<State>,
    called: Called,
    parts: hyper::http::request::Parts,
    body: Bytes,
    decision: Decision,
    decided_by: Option<&'static str>,
) -> (Response<Full<Bytes>>, bool) {
    let Called { call, origin, arrived } = called;
    let (response, ending, upstream) = match decision.action {
        // Never sent: a reset connection has no answer; only its exchange is observed.
        Action::Reset => (Response::new(Bytes::new()), Ending::Reset, None),
        Action::Answer(answer) => (answer_response(&answer), Ending::Answered, None),
        Action::Forward | Action::LoseAnswer => {
            let asked = Instant::now();
            let upstream = state.upstreams.of(call.service);
            let (response, reached) = forward(&state, upstream, parts, body.clone()).await;
            let ending = match (reached, &decision.action) {
                (false, _) => Ending::Unreachable,
                (true, Action::LoseAnswer) => Ending::AnswerLost,
                (true, _) => Ending::Forwarded,
            };
            (response, ending, Some((asked, Instant::now())))
        }
    };
    // The connection is reset instead of answering: never sent, or applied and its answer lost.
    let reset = matches!(ending, Ending::Reset | Ending::AnswerLost);
    if ending != Ending::Reset {
        if let Some(not_before) = decision.not_before {
            tokio::time::sleep_until(not_before.into()).await;
        }
        if !decision.delay.is_zero() {
            tokio::time::sleep(decision.delay).await;
        }
    }
    let (parts, response_body) = response.into_parts();
    // A reset call has no status: 0.
    let status = if ending == Ending::Reset {
        0
    } else {
        parts.status.as_u16()
    };
    let observed = Exchange {
        error_code: error_code(status, &parts.headers, &response_body),
        call,
        origin,
        arrived,
        decided_by,
        ending,
        upstream,
        not_before: decision.not_before,
        answered: Instant::now(),
        status,
        request: body,
        response: response_body.clone(),
    };
    for hook in &state.hooks {
        hook.observe(&observed);
    }
    (Response::from_parts(parts, Full::new(response_body)), reset)
}

fn answer_response(answer: &Answer) -> Response<Bytes> {
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        response = response.header(*name, value);
    }
    response
        .body(Bytes::from(answer.body.clone()))
        .expect("a valid response")
}

/// The emulator's answer to the request, and whether it was reached at all (a failure to reach
/// it is a 502, never expected: the emulator runs for the whole run).
async fn forward(
    state: &State,
    upstream: &str,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
) -> (Response<Bytes>, bool) {
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    parts.uri = match format!("{upstream}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return (bad_gateway(format!("bad upstream URI: {e}")), false),
    };
    match state.client.request(Request::from_parts(parts, Full::new(body))).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            match body.collect().await {
                Ok(body) => (Response::from_parts(parts, body.to_bytes()), true),
                Err(e) => (bad_gateway(format!("reading the emulator's answer: {e}")), false),
            }
        }
        Err(error) => {
            state.upstream_errors.lock().unwrap().push(format!("{path}: {error:?}"));
            (
                bad_gateway(format!("emulation proxy: emulator unreachable: {error}")),
                false,
            )
        }
    }
}

fn bad_gateway(message: String) -> Response<Bytes> {
    Response::builder()
        .status(502)
        .body(Bytes::from(message))
        .expect("a valid response")
}

fn strip_hop_by_hop(headers: &mut hyper::HeaderMap) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}
