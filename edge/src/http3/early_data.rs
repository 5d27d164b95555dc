//! Whether a connection's handshake has completed, for requests that may have
//! arrived in 0-RTT (RFC 9001 §4.6, RFC 8470).
//!
//! Without `[http3] early_data` every connection is confirmed before its first
//! request. With it, quinn hands the connection over at once
//! (`Connecting::into_0rtt`) and [`EarlyData`] turns true when the handshake
//! completes.

use tokio::sync::watch;

/// See the module docs. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct EarlyData(Option<watch::Receiver<Option<bool>>>);

impl EarlyData {
    /// A connection whose handshake completed before any request.
    pub(crate) fn confirmed_connection() -> Self {
        Self(None)
    }

    /// A 0-RTT connection; true once `handshake` resolves with the connection
    /// open (false: the handshake failed, the early requests must not be served).
    /// On a server, quinn's `ZeroRttAccepted` only says *that* the handshake
    /// ended; whether it succeeded is whether the connection is still open.
    pub(crate) fn pending(
        handshake: quinn::ZeroRttAccepted,
        connection: quinn::Connection,
    ) -> Self {
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let _ = handshake.await;
            let _ = tx.send(Some(connection.close_reason().is_none()));
        });
        Self(Some(rx))
    }

    /// Whether the handshake has completed.
    pub(crate) fn is_confirmed(&self) -> bool {
        match &self.0 {
            None => true,
            Some(rx) => *rx.borrow() == Some(true),
        }
    }

    /// Waits for the handshake; false when it failed.
    pub(crate) async fn confirmed(&self) -> bool {
        match &self.0 {
            None => true,
            Some(rx) => {
                let mut rx = rx.clone();
                let confirmed = match rx.wait_for(Option::is_some).await {
                    Ok(v) => *v == Some(true),
                    Err(_) => false,
                };
                confirmed
            }
        }
    }
}
