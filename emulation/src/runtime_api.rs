//! A minimal Lambda Runtime API (`/2018-06-01/runtime/...`) for one function process, so release
//! binaries run locally exactly as on Lambda: the process polls `invocation/next`, answers on
//! `invocation/{id}/response` or `/error`. Used where the runner must own the process (the chaos
//! run kills workers; the benchmark times init to the first `next`).
//!
//! **Timeouts.** An invocation not answered by its deadline fails with `Sandbox.Timedout`, and, as
//! Lambda does, the process is killed then (SIGKILL), when its owner registered it
//! ([`RuntimeApi::set_process`]): a process left running past its deadline would go on writing
//! after Lambda has given its batch back to SQS. The owner restarts it and learns of the kill
//! from [`RuntimeApi::take_timeout_kill`].

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::{Notify, oneshot};

use crate::invoke::{Invocation, InvokeError, Invoker};

/// Milliseconds since the Unix epoch, as `Lambda-Runtime-Deadline-Ms` counts them.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

struct Pending {
    request_id: String,
    payload: Vec<u8>,
    deadline_ms: u64,
    reply: oneshot::Sender<Invocation>,
}

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<Pending>>,
    queued: Notify,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Invocation>>>,
    first_next: Mutex<Option<Instant>>,
    polled: Notify,
    function_arn: String,
}

/// The Runtime API of one function process, on a free loopback port.
pub struct RuntimeApi {
    address: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
    timeout: Duration,
    /// The process serving this API, killed when an invocation passes its deadline.
    process: Mutex<Option<u32>>,
    /// When the last such kill happened, until the owner takes it.
    timeout_kill: Mutex<Option<Instant>>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Serve on 127.0.0.1 (free port). `timeout` is the function's timeout.
    pub async fn start(function_name: &str, timeout: Duration) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(State {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            ..State::default()
        });
        let served = state.clone();
        let server = tokio::spawn(crate::serve::http1(
            listener,
            |_| {},
            move |request| handle(served.clone(), request),
        ));
        Ok(Self {
            address,
            state,
            server,
            timeout,
            process: Mutex::new(None),
            timeout_kill: Mutex::new(None),
        })
    }

    /// The process serving this API (its pid), killed if an invocation passes its deadline;
    /// `None`: nobody is killed (a process the caller does not own, e.g. `cargo lambda watch`).
    pub fn set_process(&self, pid: Option<u32>) {
        *self.process.lock().unwrap() = pid;
    }

    /// When this API killed its process for a timeout, once (then `None` until the next).
    pub fn take_timeout_kill(&self) -> Option<Instant> {
        self.timeout_kill.lock().unwrap().take()
    }

    /// Kill the registered process: its invocation passed its deadline.
    fn kill_for_timeout(&self) {
        let Some(pid) = *self.process.lock().unwrap() else {
            return;
        };
        // Recorded before the signal: the owner may see the process gone before this returns,
        // and must then learn it was this kill, not an unexpected exit.
        let mut kill = self.timeout_kill.lock().unwrap();
        let before = kill.replace(Instant::now());
        // SAFETY: kill(2) with a pid this API's owner registered and a valid signal.
        if unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } != 0 {
            *kill = before; // no such process: nothing was killed
        }
    }

    /// `AWS_LAMBDA_RUNTIME_API` for the process.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Wait until the process first asks for an invocation (its init is over); returns when.
    pub async fn wait_ready(&self) -> Instant {
        loop {
            let notified = self.state.polled.notified();
            if let Some(at) = *self.state.first_next.lock().unwrap() {
                return at;
            }
            notified.await;
        }
    }

    /// Fail every invocation in flight, as Lambda does when the process exits mid-invocation.
    pub fn fail_in_flight(&self, error_type: &str) {
        for (_, reply) in self.state.in_flight.lock().unwrap().drain() {
            let _ = reply.send(Invocation {
                function_error: Some(error_type.to_owned()),
                payload: format!(r#"{{"errorType":"{error_type}","errorMessage":"the process exited"}}"#).into_bytes(),
            });
        }
    }

    /// Forget whether the process was ready (after restarting it).
    pub fn reset_ready(&self) {
        *self.state.first_next.lock().unwrap() = None;
    }

    /// Queue an invocation and wait for its result (a timeout counts as a function error).
    pub async fn invoke_payload(&self, payload: Vec<u8>) -> Invocation {
        let (reply, result) = oneshot::channel();
        let request_id = uuid::Uuid::new_v4().to_string();
        self.state.queue.lock().unwrap().push_back(Pending {
            request_id: request_id.clone(),
            payload,
            deadline_ms: now_ms() + self.timeout.as_millis() as u64,
            reply,
        });
        self.state.queued.notify_one();
        match tokio::time::timeout(self.timeout + Duration::from_millis(500), result).await {
            Ok(Ok(invocation)) => invocation,
            Ok(Err(_)) => {
                self.state.in_flight.lock().unwrap().remove(&request_id);
                Invocation {
                    function_error: Some("Sandbox.Timedout".to_owned()),
                    payload: br#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out"}"#.to_vec(),
                }
            }
            Err(_) => {
                // Past the deadline: Lambda stops the process, so nothing it does from now on
                // lands after its batch went back to SQS.
                let running = self.state.in_flight.lock().unwrap().remove(&request_id).is_some();
                if running {
                    self.kill_for_timeout();
                }
                Invocation {
                    function_error: Some("Sandbox.Timedout".to_owned()),
                    payload: br#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out"}"#.to_vec(),
                }
            }
        }
    }
}

impl Invoker for RuntimeApi {
    fn invoke<'a>(&'a self, _function: &'a str, payload: Vec<u8>) -> BoxFuture<'a, Result<Invocation, InvokeError>> {
        Box::pin(async move { Ok(self.invoke_payload(payload).await) })
    }
}

type Body = Full<Bytes>;

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Full::new(body.into()))
        .expect("a valid response")
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let rest = path.strip_prefix("/2018-06-01/runtime/").unwrap_or_default().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let parts: Vec<&str> = rest.split('/').collect();
    Ok(match (method, parts.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(&state).await,
        (Method::POST, ["invocation", id, outcome @ ("response" | "error")]) => {
            let reply = state.in_flight.lock().unwrap().remove(*id);
            match reply {
                Some(reply) => {
                    let _ = reply.send(Invocation {
                        function_error: (*outcome == "error").then(|| "Unhandled".to_owned()),
                        payload: body.to_vec(),
                    });
                    respond(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
                }
                None => respond(StatusCode::BAD_REQUEST, r#"{"errorType":"InvalidRequestID"}"#),
            }
        }
        (Method::POST, ["init", "error"]) => respond(StatusCode::ACCEPTED, r#"{"status":"OK"}"#),
        _ => respond(StatusCode::NOT_FOUND, ""),
    })
}

async fn next(state: &State) -> Response<Body> {
    {
        let mut first = state.first_next.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
        }
    }
    state.polled.notify_waiters();
    let pending = loop {
        let queued = state.queued.notified();
        if let Some(pending) = state.queue.lock().unwrap().pop_front() {
            break pending;
        }
        queued.await;
    };
    state
        .in_flight
        .lock()
        .unwrap()
        .insert(pending.request_id.clone(), pending.reply);
    Response::builder()
        .status(StatusCode::OK)
        .header("Lambda-Runtime-Aws-Request-Id", &pending.request_id)
        .header("Lambda-Runtime-Deadline-Ms", pending.deadline_ms.to_string())
        .header("Lambda-Runtime-Invoked-Function-Arn", &state.function_arn)
        .header(
            "Lambda-Runtime-Trace-Id",
            format!("Root=1-local-{}", pending.request_id),
        )
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(pending.payload)))
        .expect("a valid response")
}
