//! A loopback HTTP proxy in front of the emulator that records every AWS call passing through:
//! which operation, and when it was in flight. From that come the round trips per message and
//! the time a handler spent waiting on the emulator.
//!
//! Point one process's `AWS_ENDPOINT_URL` at [`CountingProxy::endpoint`]; requests go on to the
//! emulator unchanged (the emulator reads queue URLs from request bodies, not from the host).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// One AWS call as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `DynamoDB.PutItem`, `SQS.SendMessage`, … (`other <path>` when not an AWS API call).
    pub operation: String,
    pub started: Instant,
    pub finished: Instant,
}

type Upstream = Client<HttpConnector, Full<Bytes>>;

/// The proxy, serving on a free loopback port until dropped.
pub struct CountingProxy {
    address: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    connections: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl CountingProxy {
    /// Forward to `upstream` (`http://127.0.0.1:<port>`).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let calls = Arc::new(Mutex::new(Vec::new()));
        let client: Upstream = Client::builder(TokioExecutor::new()).build_http();
        let upstream: Arc<str> = upstream.trim_end_matches('/').into();
        let recorded = calls.clone();
        let connections = Arc::new(AtomicUsize::new(0));
        let accepted = connections.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                accepted.fetch_add(1, Ordering::Relaxed);
                let (client, upstream, recorded) = (client.clone(), upstream.clone(), recorded.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        forward(client.clone(), upstream.clone(), recorded.clone(), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            address,
            calls,
            connections,
            server,
        })
    }

    /// `AWS_ENDPOINT_URL` for a process whose calls are to be counted.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// TCP connections the process opened to the proxy since the last call. The proxy keeps
    /// connections alive, as AWS endpoints do; moto closes each one after its response.
    pub fn take_connections(&self) -> usize {
        self.connections.swap(0, Ordering::Relaxed)
    }

    /// Every call recorded since the last `take`, in the order they finished.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

async fn forward(
    client: Upstream,
    upstream: Arc<str>,
    recorded: Arc<Mutex<Vec<Call>>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let operation = operation_of(
        parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()),
        &body,
        parts.uri.path(),
    );
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    parts.uri = match format!("{upstream}{path}").parse() {
        Ok(uri) => uri,
        Err(e) => return Ok(failure(format!("bad upstream URI: {e}"))),
    };
    let response = match client.request(Request::from_parts(parts, Full::new(body))).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            // moto answers `Connection: close`; a proxy must not forward hop-by-hop headers, and
            // dropping it lets the process keep its connection alive, as AWS endpoints allow.
            strip_hop_by_hop(&mut parts.headers);
            match body.collect().await {
                Ok(body) => Response::from_parts(parts, Full::new(body.to_bytes())),
                Err(e) => failure(format!("reading the emulator's answer: {e}")),
            }
        }
        Err(e) => failure(format!("forwarding to the emulator: {e}")),
    };
    recorded.lock().unwrap().push(Call {
        operation,
        started,
        finished: Instant::now(),
    });
    Ok(response)
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

fn failure(message: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::BAD_GATEWAY)
        .body(Full::new(Bytes::from(message)))
        .expect("a valid response")
}

/// The AWS operation of a request: JSON protocols name it in `X-Amz-Target`
/// (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`), the query protocol in the form body
/// (`Action=SendMessage`).
pub fn operation_of(target: Option<&str>, body: &[u8], path: &str) -> String {
    if let Some((service, operation)) = target.and_then(|t| t.split_once('.')) {
        let service = match service {
            s if s.starts_with("DynamoDB") => "DynamoDB",
            "AmazonSQS" => "SQS",
            other => other,
        };
        return format!("{service}.{operation}");
    }
    let action = std::str::from_utf8(body)
        .ok()
        .and_then(|form| form.split('&').find_map(|pair| pair.strip_prefix("Action=")));
    match action {
        Some(action) => format!("Query.{action}"),
        None => format!("other {path}"),
    }
}

/// Calls per operation.
pub fn count_by_operation(calls: &[Call]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for call in calls {
        *counts.entry(call.operation.clone()).or_insert(0) += 1;
    }
    counts
}

/// Time during which at least one call was in flight (the union of the calls' intervals).
pub fn busy_time(calls: &[Call]) -> Duration {
    let mut intervals: Vec<(Instant, Instant)> = calls.iter().map(|c| (c.started, c.finished)).collect();
    intervals.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                total += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        total += e - s;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_from_the_target_header_or_the_query_body() {
        assert_eq!(
            operation_of(Some("DynamoDB_20120810.PutItem"), b"{}", "/"),
            "DynamoDB.PutItem"
        );
        assert_eq!(
            operation_of(Some("AmazonSQS.SendMessage"), b"{}", "/"),
            "SQS.SendMessage"
        );
        assert_eq!(
            operation_of(None, b"Action=SendMessage&QueueUrl=x", "/"),
            "Query.SendMessage"
        );
        assert_eq!(
            operation_of(None, b"", "/moto-api/data.json"),
            "other /moto-api/data.json"
        );
    }

    #[test]
    fn busy_time_counts_overlapping_calls_once() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let call = |a, b| Call {
            operation: "x".into(),
            started: ms(a),
            finished: ms(b),
        };
        // [0,10] ∪ [5,15] ∪ [20,25] = 15 + 5.
        let calls = [call(20, 25), call(0, 10), call(5, 15)];
        assert_eq!(busy_time(&calls), Duration::from_millis(20));
        assert_eq!(busy_time(&[]), Duration::ZERO);
        assert_eq!(count_by_operation(&calls)["x"], 3);
    }
}
