//! A TCP listener whose connections a handler can reset (the `reset` fault).
//!
//! Each accepted stream carries an abort flag, handed to handlers as
//! `ConnectInfo<ConnControl>`. Once the flag is set, every read and write on the stream fails
//! and the socket is closed with `SO_LINGER` 0, so the peer sees a TCP RST (or EOF) and no
//! HTTP response: a connection error, not an error status.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::connect_info::Connected, serve::IncomingStream, serve::Listener};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};

/// Accepts TCP connections wrapped in [`AbortableStream`].
pub(crate) struct AbortableListener(pub TcpListener);

/// A TCP stream that fails every operation once its abort flag is set.
pub(crate) struct AbortableStream {
    inner: TcpStream,
    abort: Arc<AtomicBool>,
}

/// Per-connection control handed to handlers through `ConnectInfo`.
#[derive(Debug, Clone)]
pub(crate) struct ConnControl {
    abort: Arc<AtomicBool>,
}

impl ConnControl {
    /// Marks the connection for reset: the response is never written.
    pub(crate) fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
    }
}

impl Listener for AbortableListener {
    type Io = AbortableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((inner, addr)) => {
                    let _ = inner.set_nodelay(true);
                    let stream = AbortableStream {
                        inner,
                        abort: Arc::new(AtomicBool::new(false)),
                    };
                    return (stream, addr);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, AbortableListener>> for ConnControl {
    fn connect_info(stream: IncomingStream<'_, AbortableListener>) -> Self {
        Self {
            abort: stream.io().abort.clone(),
        }
    }
}

impl AbortableStream {
    fn check(&self) -> io::Result<()> {
        if self.abort.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by emulator fault",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for AbortableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AbortableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
