//! moto's server for tests: started on a free loopback port, stopped with the test process.
//!
//! DynamoDB requests are serialised inside the server (see `launcher.py`): moto's transactions
//! are not atomic under concurrent requests, DynamoDB's are. The launcher also makes moto's
//! transactions and SQS receives fast enough for runs with thousands of items and messages.
//!
//! The server runs in the project's Python venv (`.venv/bin/python`, made by `make test`), or the
//! interpreter in `MOTO_PYTHON`. It is a child process reading its stdin: when the test process
//! exits, for any reason, the pipe closes and the server stops.
//!
//! [`MotoServer::shared`] is one server per test binary (tests must use unique resource names,
//! see [`unique_name`]); [`MotoServer::start`] is a private one, for tests that reset it or read
//! global state such as `/moto-api/data.json`.
//!
//! [`personal_data`] is the scanner the demo and the chaos run use to prove no email address is
//! left in clear in logs, dead letters and reports.

pub mod dynamodb;
pub mod personal_data;
pub mod sqs;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// moto's server with the patches that make it behave as AWS does where tests depend on it:
/// serialised DynamoDB requests, transactions that snapshot the items they touch rather than
/// whole tables, and SQS receives that do not slow down with queue depth (each explained in the
/// file). `tests/launcher.rs` checks that transactions stay atomic and cancellations restore.
const LAUNCHER: &str = include_str!("launcher.py");

/// The region every test client uses.
pub const REGION: &str = "us-east-1";
/// moto's default account id, part of every ARN and queue URL it makes.
pub const ACCOUNT_ID: &str = "123456789012";

pub struct MotoServer {
    port: u16,
    child: Child,
}

impl MotoServer {
    /// A new server of its own, stopped when dropped.
    pub fn start() -> MotoServer {
        let python = python();
        let mut child = Command::new(&python)
            .args(["-c", LAUNCHER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; run `make test`, which creates the venv",
                    python.display()
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("read moto's port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "moto's server did not start ({} printed {line:?}); is moto[server] installed in that venv?",
                python.display()
            )
        });
        MotoServer { port, child }
    }

    /// The server shared by every test of this test binary.
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(MotoServer::start)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK configuration pointing at this server with dummy credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.endpoint()).await
    }

    /// The queue URL moto gives a queue named `name`.
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{ACCOUNT_ID}/{name}", self.endpoint())
    }

    /// Everything moto holds, as `GET /moto-api/data.json` returns it.
    pub fn data(&self) -> serde_json::Value {
        let body = self.request("GET", "/moto-api/data.json");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("moto's data.json is not JSON ({e}): {body:.200}"))
    }

    /// Forget every resource (`POST /moto-api/reset`). Only on a private server.
    pub fn reset(&self) {
        self.request("POST", "/moto-api/reset");
    }

    /// One moto-api call. A failed answer is retried a few times: `data.json` walks every backend
    /// and can fail (500) while another test of the same binary is changing one.
    fn request(&self, method: &str, path: &str) -> String {
        let mut last = String::new();
        for attempt in 0..5 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(100 * attempt));
            }
            let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
            stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
            write!(
                stream,
                "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
            )
            .expect("write to moto");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("read moto's answer");
            let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
            if head.starts_with("HTTP/1.") && head.lines().next().is_some_and(|status| status.contains(" 200")) {
                return body.to_owned();
            }
            last = format!("{head}\n{body:.500}");
        }
        panic!("{method} {path} failed five times; last answer: {last}")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SDK configuration pointing at `endpoint` (a server, or a proxy in front of servers) with the
/// test region and dummy credentials.
pub async fn sdk_config_at(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto-harness"))
        .load()
        .await
}

/// `prefix` plus a random suffix: a resource name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The Python with moto (and the SAM translator): `MOTO_PYTHON`, else the project's venv.
/// Panics, saying how to get one, when neither exists.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("MOTO_PYTHON") {
        return PathBuf::from(python);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = workspace.join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "no Python with moto: {} does not exist and MOTO_PYTHON is unset; run `make test`, which creates the venv",
        venv.display()
    )
}
