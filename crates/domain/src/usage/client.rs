//! The client address a key is presented from, as the `new_client_ip` alert compares them
//! (SPEC §12).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Where a key was used from: an IPv4 address, or the /64 network of an IPv6 address.
///
/// IPv6 hosts change their address within their /64 every day or so (RFC 8981 temporary
/// addresses), and a /64 is what one site or subscriber is given (RFC 6177), so the
/// network is what "an address the key has used before" means for IPv6 — as the
/// failed-verification budget counts it (SPEC §7). An IPv4-mapped IPv6 address
/// (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) is its IPv4 address.
///
/// Written as `192.0.2.1` or `2001:db8:1:2::/64` ([`fmt::Display`], [`FromStr`]: what
/// storage keeps and an alert's detail shows), at most 43 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientAddress {
    V4(Ipv4Addr),
    /// The upper 64 bits of the IPv6 address.
    V6Network(u64),
}

impl ClientAddress {
    /// The address as compared: IPv4 as is, IPv6 cut to its /64.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Network(u64::try_from(u128::from(v6) >> 64).unwrap_or(u64::MAX)),
            },
        }
    }
}

impl From<IpAddr> for ClientAddress {
    fn from(ip: IpAddr) -> Self {
        Self::of(ip)
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(v4) => write!(f, "{v4}"),
            Self::V6Network(network) => {
                write!(f, "{}/64", Ipv6Addr::from(u128::from(*network) << 64))
            }
        }
    }
}

/// Text that is not a [`ClientAddress`] as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IPv4 address or an IPv6 /64 network: {0:?}")]
pub struct BadClientAddress(pub String);

impl FromStr for ClientAddress {
    type Err = BadClientAddress;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadClientAddress(text.chars().take(64).collect());
        if let Some(network) = text.strip_suffix("/64") {
            let v6: Ipv6Addr = network.parse().map_err(|_| bad())?;
            let address = Self::of(IpAddr::V6(v6));
            // Only the canonical form of a network: host bits zero, not IPv4-mapped.
            return match address {
                Self::V6Network(_) if address.to_string() == text => Ok(address),
                _ => Err(bad()),
            };
        }
        let v4: Ipv4Addr = text.parse().map_err(|_| bad())?;
        Ok(Self::V4(v4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> ClientAddress {
        ClientAddress::of(text.parse().unwrap())
    }

    #[test]
    fn ipv4_is_kept_whole_and_ipv6_cut_to_its_64() {
        assert_eq!(address("192.0.2.7").to_string(), "192.0.2.7");
        assert_eq!(
            address("2001:db8:1:2:aaaa:bbbb:cccc:dddd").to_string(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            address("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            address("2001:db8:1:2::1")
        );
        assert_ne!(address("2001:db8:1:2::1"), address("2001:db8:1:3::1"));
        assert_eq!(address("::ffff:192.0.2.7"), address("192.0.2.7"));
        assert_eq!(address("::1").to_string(), "::/64");
    }

    #[test]
    fn the_written_form_reads_back_and_nothing_else_does() {
        for text in ["192.0.2.7", "2001:db8:1:2::/64", "::/64", "0.0.0.0"] {
            assert_eq!(text.parse::<ClientAddress>().unwrap().to_string(), text);
        }
        let longest = "ffff:ffff:ffff:ffff::/64";
        assert_eq!(
            longest.parse::<ClientAddress>().unwrap().to_string(),
            longest
        );
        for bad in [
            "",
            "192.0.2.7/32",
            "2001:db8:1:2::1",
            "2001:db8:1:2::1/64",
            "2001:0db8:1:2::/64",
            "::ffff:192.0.2.7/64",
            "example.com",
        ] {
            assert!(bad.parse::<ClientAddress>().is_err(), "{bad}");
        }
    }
}
