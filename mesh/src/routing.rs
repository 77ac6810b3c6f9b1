//! The link-state database: every node's advertised adjacencies, and the
//! shortest-path route table computed from them.
//!
//! A pure state machine in the manner of quinn-proto: advertisements and the
//! current time go in, decisions come out (flood or drop, routes changed or
//! not). It does no I/O and reads no clock, so its tests need no network and
//! no sleeps; [`crate::node`] is the async shell around it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::frame::{Adjacency, Advertisement};
use crate::id::NodeId;

/// Shortest lifetime accepted from an advertisement, so a peer cannot make
/// its state vanish between two refreshes by announcing a tiny lifetime.
pub const MIN_AGE: Duration = Duration::from_secs(1);

/// The path to one destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Where frames are going.
    pub dest: NodeId,
    /// The neighbour to hand them to.
    pub next_hop: NodeId,
    /// Sum of link costs along the path.
    pub cost: u64,
    /// Number of links along the path.
    pub hops: u32,
}

/// What [`LinkStateDb::receive`] decided about an advertisement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Newer than what we held: stored, and to be flooded to every neighbour
    /// except the one it came from.
    Accepted {
        /// Whether the route table changed.
        routes_changed: bool,
    },
    /// Not newer than what we hold (a duplicate or an old one): dropped and
    /// not flooded, which is what ends a flood.
    Stale,
    /// Our own advertisement from a later epoch: another process uses our id.
    Conflict,
}

#[derive(Clone, Debug)]
struct Entry {
    ad: Advertisement,
    received: Instant,
    expires: Instant,
}

/// Every node's adjacencies as this node knows them, and its routes.
#[derive(Debug)]
pub struct LinkStateDb {
    me: NodeId,
    epoch: u64,
    seq: u64,
    max_age: Duration,
    local: BTreeMap<NodeId, u32>,
    others: BTreeMap<NodeId, Entry>,
    routes: BTreeMap<NodeId, Route>,
}

/// One node in a [`LinkStateDb::known_nodes`] listing.
#[derive(Clone, Debug, Serialize)]
pub struct KnownNode {
    /// The node.
    pub node: NodeId,
    /// Its epoch.
    pub epoch: u64,
    /// The sequence number of its latest advertisement.
    pub seq: u64,
    /// Its links with their costs.
    pub links: Vec<Adjacency>,
    /// Time since its latest advertisement arrived (zero for ourselves).
    pub last_seen: Duration,
}

impl LinkStateDb {
    /// A database holding only this node, with no links yet.
    pub fn new(me: NodeId, epoch: u64, max_age: Duration) -> Self {
        Self {
            me,
            epoch,
            seq: 0,
            max_age: max_age.max(MIN_AGE),
            local: BTreeMap::new(),
            others: BTreeMap::new(),
            routes: BTreeMap::new(),
        }
    }

    /// This node's id.
    pub fn me(&self) -> &NodeId {
        &self.me
    }

    /// Records a live link to `peer`; returns the advertisement to flood if
    /// anything changed.
    pub fn set_link(&mut self, peer: NodeId, cost: u32) -> Option<Advertisement> {
        let cost = cost.max(1);
        if peer == self.me || self.local.get(&peer) == Some(&cost) {
            return None;
        }
        self.local.insert(peer, cost);
        self.recompute();
        Some(self.originate())
    }

    /// Forgets the link to `peer`; returns the advertisement to flood if it
    /// existed.
    pub fn remove_link(&mut self, peer: &NodeId) -> Option<Advertisement> {
        self.local.remove(peer)?;
        self.recompute();
        Some(self.originate())
    }

    /// A fresh advertisement of our links with the next sequence number, for
    /// a change or the periodic refresh that keeps it from expiring elsewhere.
    pub fn originate(&mut self) -> Advertisement {
        self.seq += 1;
        self.own_advertisement()
    }

    /// Our current advertisement, without bumping the sequence.
    pub fn own_advertisement(&self) -> Advertisement {
        Advertisement {
            origin: self.me.clone(),
            epoch: self.epoch,
            seq: self.seq,
            max_age_ms: u32::try_from(self.max_age.as_millis()).unwrap_or(u32::MAX),
            links: self
                .local
                .iter()
                .map(|(peer, &cost)| Adjacency {
                    peer: peer.clone(),
                    cost,
                })
                .collect(),
        }
    }

    /// Takes in an advertisement heard from a neighbour at `now`.
    pub fn receive(&mut self, ad: Advertisement, now: Instant) -> Received {
        if ad.origin == self.me {
            // Our own flood coming back round is the normal end of a flood.
            return if (ad.epoch, ad.seq) <= (self.epoch, self.seq) {
                Received::Stale
            } else {
                Received::Conflict
            };
        }
        if let Some(known) = self.others.get(&ad.origin)
            && (ad.epoch, ad.seq) <= (known.ad.epoch, known.ad.seq)
        {
            return Received::Stale;
        }
        let lifetime = Duration::from_millis(u64::from(ad.max_age_ms)).clamp(MIN_AGE, self.max_age);
        let links_changed = self
            .others
            .get(&ad.origin)
            .is_none_or(|known| known.ad.links != ad.links);
        self.others.insert(
            ad.origin.clone(),
            Entry {
                ad,
                received: now,
                expires: now + lifetime,
            },
        );
        let routes_changed = links_changed && self.recompute();
        Received::Accepted { routes_changed }
    }

    /// Drops `origin`'s advertisement (a revoked node: nothing it says
    /// counts); true when routes changed.
    pub fn forget(&mut self, origin: &NodeId) -> bool {
        self.others.remove(origin).is_some() && self.recompute()
    }

    /// Drops advertisements older than their lifetime; returns whether the
    /// route table changed.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.others.len();
        self.others.retain(|_, e| e.expires > now);
        before != self.others.len() && self.recompute()
    }

    /// Every advertisement we hold, ours first: what a new neighbour is sent
    /// so it learns the mesh without waiting for refreshes.
    pub fn advertisements(&self) -> Vec<Advertisement> {
        std::iter::once(self.own_advertisement())
            .chain(self.others.values().map(|e| e.ad.clone()))
            .collect()
    }

    /// The neighbour to hand a frame for `dest` to.
    pub fn next_hop(&self, dest: &NodeId) -> Option<&NodeId> {
        self.routes.get(dest).map(|r| &r.next_hop)
    }

    /// The route table, by destination.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.values()
    }

    /// Every node we hold an advertisement of, ourselves first.
    pub fn known_nodes(&self, now: Instant) -> Vec<KnownNode> {
        let own = self.own_advertisement();
        std::iter::once(KnownNode {
            node: own.origin,
            epoch: own.epoch,
            seq: own.seq,
            links: own.links,
            last_seen: Duration::ZERO,
        })
        .chain(self.others.values().map(|e| KnownNode {
            node: e.ad.origin.clone(),
            epoch: e.ad.epoch,
            seq: e.ad.seq,
            links: e.ad.links.clone(),
            last_seen: now.saturating_duration_since(e.received),
        }))
        .collect()
    }

    /// The cost `from` advertises for its link to `to`, if it does.
    fn advertised(&self, from: &NodeId, to: &NodeId) -> Option<u32> {
        if *from == self.me {
            return self.local.get(to).copied();
        }
        let entry = self.others.get(from)?;
        entry
            .ad
            .links
            .iter()
            .find(|a| a.peer == *to)
            .map(|a| a.cost)
    }

    /// Dijkstra from this node; returns whether the table changed.
    fn recompute(&mut self) -> bool {
        // (cost, hops, node, first hop): ties go to fewer hops, then to the
        // smaller ids, so every run on the same database gives the same table.
        let mut heap: BinaryHeap<Reverse<(u64, u32, NodeId, NodeId)>> = BinaryHeap::new();
        let mut done: BTreeMap<NodeId, Route> = BTreeMap::new();
        for (peer, &cost) in &self.local {
            heap.push(Reverse((u64::from(cost), 1, peer.clone(), peer.clone())));
        }
        while let Some(Reverse((cost, hops, node, first))) = heap.pop() {
            if node == self.me || done.contains_key(&node) {
                continue;
            }
            done.insert(
                node.clone(),
                Route {
                    dest: node.clone(),
                    next_hop: first.clone(),
                    cost,
                    hops,
                },
            );
            let Some(entry) = self.others.get(&node) else {
                continue;
            };
            for adj in &entry.ad.links {
                if done.contains_key(&adj.peer) || adj.peer == self.me {
                    continue;
                }
                // A link counts only when both ends advertise it: a node that
                // died keeps appearing in its neighbours' old advertisements,
                // and a one-way claim must not attract traffic.
                if self.advertised(&adj.peer, &node).is_none() {
                    continue;
                }
                let next = cost.saturating_add(u64::from(adj.cost.max(1)));
                heap.push(Reverse((next, hops + 1, adj.peer.clone(), first.clone())));
            }
        }
        let changed = done != self.routes;
        self.routes = done;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).expect("valid id")
    }

    const AGE: Duration = Duration::from_secs(30);

    /// A simulated mesh: each node's database, and the links between them.
    /// Floods are delivered synchronously, like a network with no delay.
    struct Mesh {
        dbs: BTreeMap<NodeId, LinkStateDb>,
        now: Instant,
        floods_accepted: usize,
    }

    impl Mesh {
        fn new(names: &[&str]) -> Self {
            Self {
                dbs: names
                    .iter()
                    .map(|n| (id(n), LinkStateDb::new(id(n), 1, AGE)))
                    .collect(),
                now: Instant::now(),
                floods_accepted: 0,
            }
        }

        fn neighbours(&self, n: &NodeId) -> Vec<NodeId> {
            self.dbs[n].local.keys().cloned().collect()
        }

        fn flood(&mut self, from: &NodeId, ad: Advertisement) {
            let mut queue = vec![(from.clone(), ad)];
            while let Some((sender, ad)) = queue.pop() {
                for n in self.neighbours(&sender) {
                    let Some(db) = self.dbs.get_mut(&n) else {
                        continue;
                    };
                    if let Received::Accepted { .. } = db.receive(ad.clone(), self.now) {
                        self.floods_accepted += 1;
                        queue.push((n.clone(), ad.clone()));
                    }
                }
            }
        }

        fn link(&mut self, a: &str, b: &str, cost: u32) {
            for (x, y) in [(a, b), (b, a)] {
                let db = self.dbs.get_mut(&id(x)).expect("node");
                if let Some(ad) = db.set_link(id(y), cost) {
                    self.flood(&id(x), ad);
                }
            }
            // A new neighbour gets the whole database, as the node does.
            for (x, y) in [(a, b), (b, a)] {
                let ads = self.dbs[&id(x)].advertisements();
                for ad in ads {
                    if let Received::Accepted { .. } = self
                        .dbs
                        .get_mut(&id(y))
                        .expect("node")
                        .receive(ad.clone(), self.now)
                    {
                        self.flood(&id(y), ad);
                    }
                }
            }
        }

        fn unlink(&mut self, a: &str, b: &str) {
            for (x, y) in [(a, b), (b, a)] {
                let db = self.dbs.get_mut(&id(x)).expect("node");
                if let Some(ad) = db.remove_link(&id(y)) {
                    self.flood(&id(x), ad);
                }
            }
        }

        fn kill(&mut self, dead: &str) {
            // The dead node says nothing more; its neighbours notice the
            // lost connection, and its own advertisement lingers elsewhere.
            let neighbours = self.neighbours(&id(dead));
            self.dbs.remove(&id(dead));
            for n in neighbours {
                let db = self.dbs.get_mut(&n).expect("node");
                if let Some(ad) = db.remove_link(&id(dead)) {
                    self.flood(&n, ad);
                }
            }
        }

        fn hop(&self, at: &str, dest: &str) -> Option<String> {
            self.dbs[&id(at)].next_hop(&id(dest)).map(|n| n.to_string())
        }

        fn cost(&self, at: &str, dest: &str) -> Option<u64> {
            self.dbs[&id(at)].routes.get(&id(dest)).map(|r| r.cost)
        }
    }

    #[test]
    fn a_line_routes_through_the_middle() {
        let mut m = Mesh::new(&["a", "b", "c"]);
        m.link("a", "b", 1);
        m.link("b", "c", 1);
        assert_eq!(m.hop("a", "c").as_deref(), Some("b"));
        assert_eq!(m.hop("c", "a").as_deref(), Some("b"));
        assert_eq!(m.hop("a", "b").as_deref(), Some("b"));
        assert_eq!(m.cost("a", "c"), Some(2));
        assert_eq!(m.dbs[&id("a")].routes[&id("c")].hops, 2);
        assert_eq!(m.hop("a", "a"), None);
    }

    #[test]
    fn a_diamond_uses_the_cheaper_side_then_the_other_after_a_loss() {
        let mut m = Mesh::new(&["a", "b", "c", "d"]);
        m.link("a", "b", 1);
        m.link("b", "d", 1);
        m.link("a", "c", 2);
        m.link("c", "d", 2);
        assert_eq!(m.hop("a", "d").as_deref(), Some("b"));
        assert_eq!(m.cost("a", "d"), Some(2));

        m.unlink("b", "d");
        assert_eq!(m.hop("a", "d").as_deref(), Some("c"));
        assert_eq!(m.cost("a", "d"), Some(4));
        assert_eq!(m.hop("d", "a").as_deref(), Some("c"));
        // b is still reachable, through a.
        assert_eq!(m.hop("d", "b").as_deref(), Some("c"));
    }

    #[test]
    fn equal_costs_break_ties_the_same_way_everywhere() {
        let mut m = Mesh::new(&["a", "b", "c", "d"]);
        m.link("a", "c", 1);
        m.link("a", "b", 1);
        m.link("b", "d", 1);
        m.link("c", "d", 1);
        assert_eq!(m.hop("a", "d").as_deref(), Some("b"));
        assert_eq!(m.hop("d", "a").as_deref(), Some("b"));
    }

    #[test]
    fn a_dead_node_is_unroutable_at_once_and_forgotten_after_its_max_age() {
        let mut m = Mesh::new(&["a", "b", "c"]);
        m.link("a", "b", 1);
        m.link("b", "c", 1);
        m.kill("c");
        // c's advertisement still claims a link to b, but b no longer
        // confirms it, so no route leads there.
        assert_eq!(m.hop("a", "c"), None);
        assert!(m.dbs[&id("a")].others.contains_key(&id("c")));

        // b and a keep refreshing their own advertisements; c cannot.
        let later = m.now + AGE / 2;
        m.now = later;
        for n in ["a", "b"] {
            let ad = m.dbs.get_mut(&id(n)).expect("node").originate();
            m.flood(&id(n), ad);
        }
        assert!(!m.dbs.get_mut(&id("a")).expect("a").expire(later));
        m.now = later + AGE / 2;
        let now = m.now;
        let a = m.dbs.get_mut(&id("a")).expect("a");
        a.expire(now);
        let known: Vec<String> = a
            .known_nodes(now)
            .iter()
            .map(|k| k.node.to_string())
            .collect();
        assert_eq!(known, ["a", "b"]);
        assert_eq!(m.hop("a", "b").as_deref(), Some("b"));
    }

    #[test]
    fn expiry_of_a_transit_node_changes_routes() {
        let now = Instant::now();
        let mut db = LinkStateDb::new(id("a"), 1, AGE);
        db.set_link(id("b"), 1);
        let ad = |origin: &str, seq, links: &[&str]| Advertisement {
            origin: id(origin),
            epoch: 1,
            seq,
            max_age_ms: 10_000,
            links: links
                .iter()
                .map(|p| Adjacency {
                    peer: id(p),
                    cost: 1,
                })
                .collect(),
        };
        db.receive(ad("b", 1, &["a", "c"]), now);
        db.receive(ad("c", 1, &["b"]), now + Duration::from_secs(5));
        assert_eq!(db.next_hop(&id("c")), Some(&id("b")));
        // b's advertisement (10 s lifetime) runs out first; without it the
        // b–c link is one-sided and c drops out of the table.
        assert!(db.expire(now + Duration::from_secs(11)));
        assert_eq!(db.next_hop(&id("c")), None);
        assert_eq!(db.next_hop(&id("b")), Some(&id("b")));
    }

    #[test]
    fn duplicates_and_old_sequences_are_dropped_and_not_reflooded() {
        let now = Instant::now();
        let mut db = LinkStateDb::new(id("a"), 1, AGE);
        let ad = |epoch, seq| Advertisement {
            origin: id("b"),
            epoch,
            seq,
            max_age_ms: 10_000,
            links: vec![],
        };
        assert!(matches!(
            db.receive(ad(1, 5), now),
            Received::Accepted { .. }
        ));
        assert_eq!(db.receive(ad(1, 5), now), Received::Stale);
        assert_eq!(db.receive(ad(1, 4), now), Received::Stale);
        assert!(matches!(
            db.receive(ad(1, 6), now),
            Received::Accepted { .. }
        ));
        // A restart (new epoch) starts its sequence again and still wins.
        assert!(matches!(
            db.receive(ad(2, 1), now),
            Received::Accepted { .. }
        ));
        assert_eq!(db.receive(ad(1, 99), now), Received::Stale);
    }

    #[test]
    fn a_flood_ends_and_reaches_every_node_once() {
        // A ring has a loop; each advertisement must still be accepted
        // exactly once per node.
        let names = ["a", "b", "c", "d", "e"];
        let mut m = Mesh::new(&names);
        for w in names.windows(2) {
            m.link(w[0], w[1], 1);
        }
        m.link("e", "a", 1);
        m.floods_accepted = 0;
        let ad = m.dbs.get_mut(&id("a")).expect("a").originate();
        m.flood(&id("a"), ad);
        assert_eq!(m.floods_accepted, names.len() - 1);
        assert_eq!(m.hop("a", "c").as_deref(), Some("b"));
        assert_eq!(m.hop("a", "d").as_deref(), Some("e"));
    }

    #[test]
    fn our_own_advertisement_echoed_is_stale_and_a_newer_one_is_a_conflict() {
        let mut db = LinkStateDb::new(id("a"), 5, AGE);
        let own = db.originate();
        assert_eq!(db.receive(own.clone(), Instant::now()), Received::Stale);
        let impostor = Advertisement { epoch: 6, ..own };
        assert_eq!(db.receive(impostor, Instant::now()), Received::Conflict);
    }

    #[test]
    fn the_lifetime_is_clamped_to_our_max_age() {
        let now = Instant::now();
        let mut db = LinkStateDb::new(id("a"), 1, AGE);
        db.receive(
            Advertisement {
                origin: id("b"),
                epoch: 1,
                seq: 1,
                max_age_ms: u32::MAX,
                links: vec![],
            },
            now,
        );
        db.expire(now + AGE);
        assert!(db.others.is_empty());
    }
}
