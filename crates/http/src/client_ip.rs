//! Which address a request comes from: what the per-client budgets (SPEC §7, §8) are
//! kept for and what an audit event records (SPEC §12).
//!
//! By default that is the TCP peer: forwarding headers are written by whoever sends the
//! request, so trusting them would let any client pick its own address (and a fresh
//! budget with each). Behind a reverse proxy the peer is the proxy, so every client
//! would share one budget; `server.trusted_proxies` names the proxies whose
//! `X-Forwarded-For` is believed. The client is then the rightmost address in that
//! header that is not itself a trusted proxy — the one the nearest proxy you trust saw
//! (the "rightmost untrusted" rule MDN describes for `X-Forwarded-For`); the addresses to
//! its left were written by the client and are ignored.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

use actix_web::http::header::HeaderName;
use actix_web::{HttpRequest, web};
use ipnet::IpNet;

use crate::state::AppState;

/// The client's address for `req` by the app's [`TrustedProxies`] (the TCP peer when the
/// app state is missing, as in some unit tests).
pub fn client_ip(req: &HttpRequest) -> IpAddr {
    match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.trusted_proxies.client_ip(req),
        None => TrustedProxies::default().client_ip(req),
    }
}

/// `X-Forwarded-For` (de facto standard; each proxy appends the address it saw).
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The reverse proxies whose `X-Forwarded-For` is believed (`server.trusted_proxies`):
/// addresses or CIDR networks, IPv4 or IPv6. Empty (the default): the TCP peer is the
/// client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of `server.trusted_proxies` that is neither an address nor a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or a CIDR network such as 10.0.0.0/8")]
pub struct InvalidProxy(String);

impl FromStr for TrustedProxies {
    type Err = InvalidProxy;

    /// A comma-separated list, e.g. `10.0.0.0/8, 192.168.1.2, fd00::/8`; blank is empty.
    ///
    /// # Errors
    /// The first entry that is neither an address nor a network.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|network| network.trunc())
                    .map_err(|_| InvalidProxy(entry.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, network) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{network}")?;
        }
        Ok(())
    }
}

impl TrustedProxies {
    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client's address for `req`: the TCP peer (an IPv4-mapped IPv6 address read as
    /// the IPv4 one), or — when the peer is a trusted proxy — the rightmost address in
    /// `X-Forwarded-For` (every such header, in order) that is not a trusted proxy. An
    /// entry that is not an address (`unknown`, an obfuscated name) ends the walk: the
    /// last trusted hop before it is the client then.
    pub fn client_ip(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| {
                addr.ip().to_canonical()
            });
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        let values: Vec<&str> = req
            .headers()
            .get_all(&X_FORWARDED_FOR)
            .filter_map(|value| value.to_str().ok())
            .collect();
        self.rightmost_untrusted(peer, &values)
    }

    fn rightmost_untrusted(&self, peer: IpAddr, header_values: &[&str]) -> IpAddr {
        let mut client = peer;
        for entry in header_values
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','))
        {
            let Some(address) = forwarded_address(entry.trim()) else {
                return client;
            };
            client = address;
            if !self.trusts(address) {
                return address;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), as some proxies write it.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn proxies(list: &str) -> TrustedProxies {
        list.parse().unwrap()
    }

    fn from(peer: &str, forwarded: &[&str]) -> TestRequest {
        let mut request = TestRequest::default().peer_addr(peer.parse().unwrap());
        for value in forwarded {
            request = request.append_header(("X-Forwarded-For", *value));
        }
        request
    }

    fn client(trusted: &str, peer: &str, forwarded: &[&str]) -> String {
        proxies(trusted)
            .client_ip(&from(peer, forwarded).to_http_request())
            .to_string()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        assert_eq!(
            client("", "192.0.2.10:5000", &["203.0.113.7"]),
            "192.0.2.10"
        );
        assert_eq!(
            client("", "[::ffff:192.0.2.10]:5000", &[]),
            "192.0.2.10",
            "an IPv4-mapped peer reads as IPv4"
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        assert_eq!(
            client("10.0.0.0/8", "192.0.2.10:5000", &["203.0.113.7"]),
            "192.0.2.10"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_address_is_the_client() {
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3:5000", &["203.0.113.7"]),
            "203.0.113.7"
        );
        // A client that writes its own header gets its claim ignored: the proxy appended
        // the address it saw.
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3:5000", &["1.1.1.1, 203.0.113.7"]),
            "203.0.113.7"
        );
        // Two proxies in a row, the headers split over two lines.
        assert_eq!(
            client(
                "10.0.0.0/8, 192.168.7.7",
                "10.1.2.3:5000",
                &["6.6.6.6, 203.0.113.7", "192.168.7.7"]
            ),
            "203.0.113.7"
        );
        assert_eq!(
            client(
                "2001:db8::/32",
                "[2001:db8::1]:443",
                &["[2001:db9::5]:4711"]
            ),
            "2001:db9::5"
        );
    }

    #[test]
    fn a_missing_or_unreadable_header_leaves_the_last_trusted_hop() {
        assert_eq!(client("10.0.0.0/8", "10.1.2.3:5000", &[]), "10.1.2.3");
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3:5000", &["203.0.113.7, unknown"]),
            "10.1.2.3"
        );
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3:5000", &["unknown, 10.9.9.9"]),
            "10.9.9.9"
        );
        assert_eq!(
            client("10.0.0.0/8", "10.1.2.3:5000", &["10.4.4.4, 10.9.9.9"]),
            "10.4.4.4",
            "every hop trusted: the leftmost is the client"
        );
    }

    #[test]
    fn the_setting_takes_addresses_and_networks_and_names_a_bad_entry() {
        let parsed = proxies(" 10.0.0.0/8 ,192.168.1.2,, fd00::/8 ");
        assert_eq!(parsed.to_string(), "10.0.0.0/8,192.168.1.2/32,fd00::/8");
        assert!(proxies("").is_empty());
        assert_eq!(
            "10.0.0.0/8, proxy.local".parse::<TrustedProxies>(),
            Err(InvalidProxy("proxy.local".to_owned()))
        );
        assert_eq!(
            "10.0.0.0/33".parse::<TrustedProxies>(),
            Err(InvalidProxy("10.0.0.0/33".to_owned()))
        );
    }
}
