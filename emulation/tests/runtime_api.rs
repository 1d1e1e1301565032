//! The Runtime API as a function process sees it: `invocation/next` hands out the payload with
//! Lambda's headers (request id, deadline, function ARN, trace id), `response` and `error`
//! answer it, an unknown request id is refused; and Lambda's timeout: an invocation not answered
//! by its deadline fails with `Sandbox.Timedout` and the process running it is killed then, not
//! left running.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use emulation::runtime_api::{RuntimeApi, now_ms};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Http = Client<HttpConnector, Full<Bytes>>;

/// The function's side: a request to the API, its status, headers and body.
async fn call(api: &RuntimeApi, method: &str, path: &str, body: &str) -> (u16, hyper::HeaderMap, String) {
    let client: Http = Client::builder(TokioExecutor::new()).build_http();
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{}/2018-06-01/runtime/{path}", api.address()))
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await.expect("the Runtime API answers");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn header<'h>(headers: &'h hyper::HeaderMap, name: &str) -> &'h str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn next_hands_out_the_payload_with_lambdas_headers_and_response_answers_it() {
    let api = std::sync::Arc::new(RuntimeApi::start("tickets", Duration::from_secs(3)).await.unwrap());
    let invoking = api.clone();
    let invocation = tokio::spawn(async move { invoking.invoke_payload(br#"{"n":1}"#.to_vec()).await });
    let before = now_ms();
    let (status, headers, body) = call(&api, "GET", "invocation/next", "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"n":1}"#));
    let deadline: u64 = header(&headers, "Lambda-Runtime-Deadline-Ms")
        .parse()
        .expect("a deadline in ms");
    assert!(
        deadline >= before + 2_000 && deadline <= now_ms() + 3_000,
        "the deadline is the timeout from now: {deadline} vs {before}"
    );
    assert_eq!(
        header(&headers, "Lambda-Runtime-Invoked-Function-Arn"),
        "arn:aws:lambda:us-east-1:123456789012:function:tickets"
    );
    let request_id = header(&headers, "Lambda-Runtime-Aws-Request-Id").to_owned();
    assert!(!request_id.is_empty());
    assert!(header(&headers, "Lambda-Runtime-Trace-Id").contains(&request_id));
    let (status, _, _) = call(
        &api,
        "POST",
        &format!("invocation/{request_id}/response"),
        r#"{"ok":true}"#,
    )
    .await;
    assert_eq!(status, 202);
    let invocation = invocation.await.unwrap();
    assert_eq!(invocation.function_error, None);
    assert_eq!(invocation.payload, br#"{"ok":true}"#);
    let (status, _, _) = call(&api, "POST", &format!("invocation/{request_id}/response"), "{}").await;
    assert_eq!(status, 400, "an invocation is answered once");
}

#[tokio::test]
async fn error_fails_the_invocation_as_unhandled_and_the_first_next_marks_init_done() {
    let api = std::sync::Arc::new(RuntimeApi::start("tickets", Duration::from_secs(3)).await.unwrap());
    let invoking = api.clone();
    let invocation = tokio::spawn(async move { invoking.invoke_payload(b"{}".to_vec()).await });
    let asked = Instant::now();
    let (_, headers, _) = call(&api, "GET", "invocation/next", "").await;
    assert!(api.wait_ready().await >= asked, "ready when the process first asked");
    let request_id = header(&headers, "Lambda-Runtime-Aws-Request-Id").to_owned();
    let error = r#"{"errorType":"Boom","errorMessage":"bad"}"#;
    let (status, _, _) = call(&api, "POST", &format!("invocation/{request_id}/error"), error).await;
    assert_eq!(status, 202);
    let invocation = invocation.await.unwrap();
    assert_eq!(invocation.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(invocation.payload, error.as_bytes());
    let (status, _, _) = call(&api, "POST", "invocation/no-such-id/response", "{}").await;
    assert_eq!(status, 400);
    let (status, _, _) = call(&api, "GET", "no/such/path", "").await;
    assert_eq!(status, 404);
}

/// A "function" that takes its invocation and never answers.
fn hanging_process(api: &RuntimeApi) -> std::process::Child {
    let (host, port) = api
        .address()
        .rsplit_once(':')
        .map(|(h, p)| (h.to_owned(), p.to_owned()))
        .unwrap();
    let script = format!(
        "exec 3<>/dev/tcp/{host}/{port}; printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; sleep 60"
    );
    std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .spawn()
        .expect("bash starts")
}

#[tokio::test]
async fn an_invocation_past_its_deadline_times_out_and_its_process_is_killed() {
    let api = RuntimeApi::start("hangs", Duration::from_millis(1_000)).await.unwrap();
    let mut child = hanging_process(&api);
    api.set_process(Some(child.id()));
    api.wait_ready().await;
    let started = Instant::now();
    let invocation = api.invoke_payload(b"{}".to_vec()).await;
    assert_eq!(invocation.function_error.as_deref(), Some("Sandbox.Timedout"));
    assert!(started.elapsed() < Duration::from_secs(5));
    let killed_at = api.take_timeout_kill().expect("the process was killed at the deadline");
    assert!(killed_at >= started + Duration::from_millis(1_000));
    assert_eq!(api.take_timeout_kill(), None, "each kill is reported once");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

#[tokio::test]
async fn without_a_registered_process_nothing_is_killed() {
    let api = RuntimeApi::start("hangs", Duration::from_millis(500)).await.unwrap();
    let mut child = hanging_process(&api);
    api.wait_ready().await;
    let invocation = api.invoke_payload(b"{}".to_vec()).await;
    assert_eq!(invocation.function_error.as_deref(), Some("Sandbox.Timedout"));
    assert_eq!(api.take_timeout_kill(), None);
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running: nobody registered it"
    );
    child.kill().unwrap();
    let _ = child.wait();
}
