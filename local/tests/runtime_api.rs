//! The local Runtime API's timeout, as Lambda's: an invocation not answered by its deadline fails
//! with `Sandbox.Timedout` and the process running it is killed then, not left running.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use local_stack::runtime_api::RuntimeApi;

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
