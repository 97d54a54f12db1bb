//! The HTTP/1.1 and HTTP/2 listener loop. poem's own server offers no limit on how long a
//! client may take to send its request headers, so this loop serves the poem endpoint with
//! hyper directly and sets one: a client that has not finished its headers within
//! [`HEADER_READ_TIMEOUT`] is disconnected (slow-header floods cannot hold connections).
//! Shutdown stops accepting, lets open requests finish within a grace period, then returns.

use bytes::Bytes;
use hyper::{body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use poem::{Endpoint, EndpointExt, http::uri::Scheme, web::LocalAddr, web::RemoteAddr};
use std::{convert::Infallible, sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// The most a connection reads from its socket at once (hyper's default is ~400 KiB). It
/// bounds what every upload in flight holds before its bytes reach the object store (fifty
/// at once held 20-40 MiB in read buffers alone), and so the largest request head accepted,
/// still far above what any browser or client sends.
pub const READ_BUFFER: usize = 64 * 1024;

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

type ResponseBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// Serves `ep` on `listener` until `shutdown` completes, then waits up to `grace` for open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    ep: impl Endpoint + 'static,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let ep = Arc::new(ep.map_to_response());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(READ_BUFFER);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ep = ep.clone();
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            let ep = ep.clone();
            async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(local.into()),
                    RemoteAddr(remote.into()),
                    Scheme::HTTP,
                ));
                let resp = ep.get_response(req).await;
                Ok::<_, Infallible>(hyper::Response::<ResponseBody>::from(resp))
            }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {
            tracing::warn!("connections still open after the grace period; closing them");
        }
    }
    Ok(())
}
