//! Serving the emulator on a socket: [`serve`], [`spawn`] and the running [`EmulatorHandle`].

use std::{io, net::SocketAddr, time::Duration};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{Emulator, EmulatorConfig, api, net};

/// Builds the HTTP app and its control handle, without binding a socket (drive it with
/// `tower::ServiceExt::oneshot`, or serve it yourself). Connection resets need [`serve`], which
/// installs per-connection control; through a bare router a `reset` fault fails the body.
pub fn router(config: EmulatorConfig) -> (axum::Router, Emulator) {
    let emulator = Emulator::new(config);
    (api::routes(emulator.clone()), emulator)
}

/// A running emulator server. Dropping it aborts the server task; [`EmulatorHandle::shutdown`]
/// stops it gracefully.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    emulator: Emulator,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The bound address, e.g. `127.0.0.1:40123`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, `http://ADDR/v0` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}/v0", self.addr)
    }

    /// The control handle.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves the emulator on `listener` in a spawned task (needs a Tokio runtime).
///
/// # Errors
/// The listener's `local_addr` error.
pub async fn serve(listener: TcpListener, config: EmulatorConfig) -> io::Result<EmulatorHandle> {
    let addr = listener.local_addr()?;
    let (app, emulator) = router(config);
    let (tx, rx) = oneshot::channel::<()>();
    let make = app.into_make_service_with_connect_info::<net::ConnControl>();
    let task = tokio::spawn(async move {
        let server = axum::serve(net::AbortableListener(listener), make).with_graceful_shutdown(
            async move {
                let _ = rx.await;
            },
        );
        if let Err(e) = server.await {
            tracing::error!(error = %e, "emulator server failed");
        }
    });
    Ok(EmulatorHandle {
        addr,
        emulator,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Binds `127.0.0.1:0` and [`serve`]s there.
///
/// # Errors
/// The bind error.
pub async fn spawn(config: EmulatorConfig) -> io::Result<EmulatorHandle> {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    serve(listener, config).await
}
