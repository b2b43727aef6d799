//! The connected peer (the TCP address `axum::serve` records as
//! [`ConnectInfo`]) and the reverse proxies whose identity header is
//! believed (`frontend.auth.trusted_proxies`).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::Extensions;
use ipnet::IpNet;

/// The peer's socket address, when the server recorded it.
pub fn peer_addr(extensions: &Extensions) -> Option<SocketAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

/// Addresses and networks of the trusted reverse proxies.
#[derive(Debug, Clone)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses addresses (`127.0.0.1`, `::1`) and networks (`10.0.0.0/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> anyhow::Result<TrustedProxies> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!("invalid frontend.auth.trusted_proxies entry {e:?}")
                    })
            })
            .collect::<anyhow::Result<_>>()
            .map(TrustedProxies)
    }

    /// Whether `addr` is one of the proxies (IPv4-mapped IPv6 addresses
    /// count as their IPv4 address).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|net| net.contains(&addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_networks() {
        let p = TrustedProxies::parse(&["127.0.0.1", "::1", "10.1.0.0/16"]).unwrap();
        for ok in ["127.0.0.1", "::1", "10.1.2.3", "::ffff:127.0.0.1"] {
            assert!(p.contains(ok.parse().unwrap()), "{ok}");
        }
        for bad in ["127.0.0.2", "10.2.0.1", "192.0.2.1", "::2"] {
            assert!(!p.contains(bad.parse().unwrap()), "{bad}");
        }
        assert!(TrustedProxies::parse(&["localhost"]).is_err());
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }
}
