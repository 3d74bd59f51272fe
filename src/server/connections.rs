//! The accept loop: HTTP/1.1 connections under a cap, each with a header-read timeout and an
//! idle timeout, closed gracefully on shutdown.
//!
//! Written over hyper directly because `axum::serve` offers none of these settings: without
//! them a client that sends half its headers, or nothing at all, holds a socket (and its
//! buffers) forever, and nothing bounds how many such clients are held.

use std::{
    future::Future,
    io,
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::Instant,
};

use crate::config::ConnectionLimits;

/// Largest request head (request line and headers). It fits a GET carrying the largest
/// document allowed (32 KiB, up to three times that once percent-encoded) and bounds the
/// buffer each connection may fill (hyper's own bound is about 400 KiB).
const MAX_HEADER_BYTES: usize = 128 * 1024;

/// Serves `router` on `listener` until `signal` resolves, then stops accepting, lets each
/// connection finish its request in flight, and returns once all are closed or `grace` has
/// passed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionLimits,
    signal: impl Future<Output = ()>,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Every connection holds a receiver: shutdown is announced through the sender, which then
    // learns when the last receiver is gone.
    let (stop, stopping) = watch::channel(false);
    let mut signal = pin!(signal);
    loop {
        let accepted = tokio::select! {
            () = &mut signal => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        if let Some((stream, slot)) = accepted {
            let connection = connection(stream, router.clone(), limits.clone(), stopping.clone());
            tokio::spawn(async move {
                connection.await;
                drop(slot);
            });
        }
    }
    drop(listener);
    drop(stopping);
    // No receiver (no connection open) is not an error: there is nothing to tell.
    let _ = stop.send(true);
    if tokio::time::timeout(grace, stop.closed()).await.is_err() {
        tracing::warn!("grace period over: dropping requests still in flight");
    }
}

/// Waits for a free slot, then for a connection. While every slot is taken, new connections
/// wait in the kernel's listen backlog.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    // The semaphore is never closed, so this cannot fail.
    let slot = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => Some((stream, slot)),
        Err(error) => {
            // Out of file descriptors or the like: say so and pause rather than spin.
            tracing::warn!(%error, "accepting a connection failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Serves one connection until the client closes it, a timeout closes it, or shutdown has let
/// its request in flight finish.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEADER_BYTES);
    let mut served = pin!(builder.serve_connection(io, TowerToHyperService::new(router)));
    let mut idle = pin!(activity.idle_for(limits.idle_timeout));
    let mut draining = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                break;
            }
            () = &mut idle => {
                tracing::debug!("closing a connection idle for too long");
                break;
            }
            _ = stopping.wait_for(|stop| *stop), if !draining => {
                // Answers the request in flight, if any, then closes.
                served.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

/// When a byte last moved on a connection, in milliseconds since it opened.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.last.load(Ordering::Relaxed);
            let due = self
                .opened
                .checked_add(Duration::from_millis(last))
                .and_then(|at| at.checked_add(limit));
            match due {
                Some(due) => tokio::time::sleep_until(due).await,
                // Too far in the future to be reached.
                None => std::future::pending::<()>().await,
            }
            if self.last.load(Ordering::Relaxed) == last {
                return;
            }
        }
    }
}

/// A stream that notes in [`Activity`] each time bytes move.
struct Watched {
    inner: TcpStream,
    activity: Activity,
}

impl Watched {
    fn noted<T>(&self, poll: Poll<io::Result<T>>, moved: bool) -> Poll<io::Result<T>> {
        if moved && matches!(poll, Poll::Ready(Ok(_))) {
            self.activity.touch();
        }
        poll
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        let moved = buf.filled().len() != before;
        this.noted(poll, moved)
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.noted(poll, moved)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        let moved = matches!(poll, Poll::Ready(Ok(n)) if n > 0);
        this.noted(poll, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
