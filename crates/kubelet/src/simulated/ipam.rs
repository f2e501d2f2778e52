//! Pod addresses for simulated nodes: each node hands out the host addresses of its own /24,
//! lowest free first after the last one given (skipping `.0`, the bridge's `.1` and `.255`), as
//! the host-local IPAM plugin does.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

/// The first host offset handed to pods (`.1` is the node's bridge).
const FIRST: u32 = 2;
/// The last host offset handed to pods (`.255` is the broadcast address).
const LAST: u32 = 254;

/// The addresses one node has given out.
#[derive(Debug, Default)]
struct NodeRange {
    network: u32,
    by_pod: HashMap<String, Ipv4Addr>,
    taken: HashSet<Ipv4Addr>,
    cursor: u32,
}

impl NodeRange {
    fn give(&mut self, uid: &str) -> Option<Ipv4Addr> {
        let span = LAST - FIRST + 1;
        for step in 0..span {
            let offset = FIRST + (self.cursor + step) % span;
            let ip = Ipv4Addr::from(self.network | offset);
            if self.taken.insert(ip) {
                self.cursor = (offset - FIRST + 1) % span;
                self.by_pod.insert(uid.to_owned(), ip);
                return Some(ip);
            }
        }
        None
    }
}

/// Pod addresses per simulated node.
#[derive(Debug, Default)]
pub struct PodIpam {
    nodes: HashMap<String, NodeRange>,
}

impl PodIpam {
    /// Gives `node` the /24 starting at `network` (its last octet is ignored).
    pub fn add_node(&mut self, node: &str, network: Ipv4Addr) {
        self.nodes.insert(
            node.to_owned(),
            NodeRange {
                network: u32::from(network) & 0xffff_ff00,
                ..NodeRange::default()
            },
        );
    }

    /// Notes that pod `uid` on `node` holds `ip` (learned from its status after a restart).
    pub fn record(&mut self, node: &str, uid: &str, ip: Ipv4Addr) {
        if let Some(range) = self.nodes.get_mut(node) {
            if range.by_pod.insert(uid.to_owned(), ip).is_none() {
                range.taken.insert(ip);
            }
        }
    }

    /// The address of pod `uid` on `node`: the one it holds, else a free one. When the range
    /// is full, addresses of pods `alive` no longer knows are taken back first. `None` when the
    /// node is unknown or every address is in use.
    pub fn allocate(
        &mut self,
        node: &str,
        uid: &str,
        alive: &dyn Fn(&str) -> bool,
    ) -> Option<Ipv4Addr> {
        let range = self.nodes.get_mut(node)?;
        if let Some(ip) = range.by_pod.get(uid) {
            return Some(*ip);
        }
        if let Some(ip) = range.give(uid) {
            return Some(ip);
        }
        let gone: Vec<String> = range.by_pod.keys().filter(|u| !alive(u)).cloned().collect();
        for u in gone {
            if let Some(ip) = range.by_pod.remove(&u) {
                range.taken.remove(&ip);
            }
        }
        range.give(uid)
    }

    /// Frees the address of pod `uid` on `node`.
    pub fn release(&mut self, node: &str, uid: &str) {
        if let Some(range) = self.nodes.get_mut(node) {
            if let Some(ip) = range.by_pod.remove(uid) {
                range.taken.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipam() -> PodIpam {
        let mut ipam = PodIpam::default();
        ipam.add_node("n", Ipv4Addr::new(10, 64, 3, 0));
        ipam
    }

    #[test]
    fn addresses_start_after_the_bridge_and_are_stable_per_pod() {
        let mut ipam = ipam();
        let all = |_: &str| true;
        assert_eq!(
            ipam.allocate("n", "a", &all),
            Some(Ipv4Addr::new(10, 64, 3, 2))
        );
        assert_eq!(
            ipam.allocate("n", "b", &all),
            Some(Ipv4Addr::new(10, 64, 3, 3))
        );
        assert_eq!(
            ipam.allocate("n", "a", &all),
            Some(Ipv4Addr::new(10, 64, 3, 2))
        );
        assert_eq!(ipam.allocate("other", "a", &all), None);
    }

    #[test]
    fn released_and_recorded_addresses_are_honoured() {
        let mut ipam = ipam();
        let all = |_: &str| true;
        ipam.record("n", "old", Ipv4Addr::new(10, 64, 3, 2));
        assert_eq!(
            ipam.allocate("n", "a", &all),
            Some(Ipv4Addr::new(10, 64, 3, 3))
        );
        ipam.release("n", "old");
        // The cursor moves on before reusing freed addresses, as host-local does.
        assert_eq!(
            ipam.allocate("n", "b", &all),
            Some(Ipv4Addr::new(10, 64, 3, 4))
        );
    }

    #[test]
    fn a_full_range_takes_back_addresses_of_vanished_pods() {
        let mut ipam = ipam();
        let all = |_: &str| true;
        for i in 0..253 {
            assert!(ipam.allocate("n", &format!("p{i}"), &all).is_some());
        }
        assert_eq!(ipam.allocate("n", "late", &all), None);
        let only_p0_gone = |uid: &str| uid != "p0";
        assert_eq!(
            ipam.allocate("n", "late", &only_p0_gone),
            Some(Ipv4Addr::new(10, 64, 3, 2))
        );
    }
}
