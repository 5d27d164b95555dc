//! The host candidates put into SDP answers (RFC 8445 §5.1.1.1). An ICE-lite
//! server gathers nothing: its candidates are the addresses viewers can reach its
//! one UDP port on.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

/// `[webrtc] candidates` on the bound port; when empty, the bound address, or for
/// an unspecified one (`0.0.0.0`) loopback plus the host's primary address.
pub fn host_candidates(configured: &[IpAddr], bound: SocketAddr) -> Vec<SocketAddr> {
    let port = bound.port();
    if !configured.is_empty() {
        return configured
            .iter()
            .map(|ip| SocketAddr::new(*ip, port))
            .collect();
    }
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let mut out = vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)];
    if let Some(ip) = primary_address() {
        if !ip.is_loopback() {
            out.push(SocketAddr::new(ip, port));
        }
    }
    out
}

/// The source address the kernel picks for the default route: "connecting" a UDP
/// socket sends nothing, it only chooses a route (TEST-NET-1, RFC 5737, never
/// answers anyway).
fn primary_address() -> Option<IpAddr> {
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    probe.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    Some(probe.local_addr().ok()?.ip()).filter(|ip| !ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_then_bound_then_loopback_first() {
        let any: SocketAddr = "0.0.0.0:8189".parse().unwrap();
        let public: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(
            host_candidates(&[public], any),
            vec!["203.0.113.5:8189".parse().unwrap()]
        );
        let bound: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(host_candidates(&[], bound), vec![bound]);
        assert_eq!(
            host_candidates(&[], any)[0],
            "127.0.0.1:8189".parse().unwrap()
        );
    }
}
