//! The one HTTP/1 serve loop of the toolkit's servers (the proxy, the Runtime API): accept on a
//! listener, hand every connection to hyper with the server's handler, each on a task of its own.

use std::future::Future;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// Serve `listener` until the task running this is aborted. `accepted` sees each connection
/// first (to count it, set its socket options); `handler` answers each request.
pub async fn http1<H, F, E>(listener: TcpListener, accepted: impl Fn(&TcpStream), handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        accepted(&stream);
        let handler = handler.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handler))
                .await;
        });
    }
}
