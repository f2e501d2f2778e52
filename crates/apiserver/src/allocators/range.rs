//! The ranges allocations come from.

use std::net::Ipv4Addr;

/// An IPv4 service CIDR (`10.43.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCidr {
    base: u32,
    prefix: u8,
}

impl ServiceCidr {
    /// Parses `a.b.c.d/n` (n from 8 to 30).
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a CIDR"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("{prefix:?} is not a prefix length"))?;
        if !(8..=30).contains(&prefix) {
            return Err(format!("prefix length {prefix} must be between 8 and 30"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Self {
            base: u32::from(addr) & mask,
            prefix,
        })
    }

    /// How many usable addresses (network and broadcast excluded).
    pub fn size(&self) -> u32 {
        (1u32 << (32 - self.prefix)) - 2
    }

    /// The `n`-th usable address (0-based: the first is network + 1).
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1 + n)
    }

    /// The index of `ip`, if it is a usable address of the range.
    pub fn index_of(&self, ip: Ipv4Addr) -> Option<u32> {
        let v = u32::from(ip);
        (v > self.base && v - self.base - 1 < self.size()).then(|| v - self.base - 1)
    }

    /// Upstream's static band: the lower addresses kept for explicitly requested IPs
    /// (1/16 of the range, at least 16 and at most 256).
    pub fn static_band(&self) -> u32 {
        (self.size() / 16).clamp(16, 256).min(self.size())
    }
}

impl Default for ServiceCidr {
    /// k3s's default, `10.43.0.0/16`.
    fn default() -> Self {
        Self {
            base: u32::from(Ipv4Addr::new(10, 43, 0, 0)),
            prefix: 16,
        }
    }
}

impl std::fmt::Display for ServiceCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

/// The node port range (`30000-32767`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port (inclusive).
    pub last: u16,
}

impl PortRange {
    /// Parses `first-last`.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| format!("{text:?} is not a port range"))?;
        let first: u16 = a
            .trim()
            .parse()
            .map_err(|_| format!("{a:?} is not a port"))?;
        let last: u16 = b
            .trim()
            .parse()
            .map_err(|_| format!("{b:?} is not a port"))?;
        if first == 0 || first > last {
            return Err(format!("{text:?} is not a valid port range"));
        }
        Ok(Self { first, last })
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: i64) -> bool {
        (i64::from(self.first)..=i64::from(self.last)).contains(&port)
    }
}

impl Default for PortRange {
    fn default() -> Self {
        Self {
            first: 30000,
            last: 32767,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_indexes_usable_addresses_only() {
        let cidr = ServiceCidr::parse("10.43.0.0/16").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cidr.nth(0), Ipv4Addr::new(10, 43, 0, 1));
        assert_eq!(cidr.index_of(Ipv4Addr::new(10, 43, 0, 10)), Some(9));
        assert_eq!(cidr.index_of(Ipv4Addr::new(10, 43, 0, 0)), None);
        assert_eq!(cidr.index_of(Ipv4Addr::new(10, 43, 255, 255)), None);
        assert_eq!(cidr.index_of(Ipv4Addr::new(10, 44, 0, 1)), None);
        assert_eq!(cidr.static_band(), 256);
    }

    #[test]
    fn port_range_parses_and_bounds() {
        let r = PortRange::parse("30000-32767").unwrap_or_default();
        assert!(r.contains(30000) && r.contains(32767) && !r.contains(32768));
        assert!(PortRange::parse("5-1").is_err());
    }
}
