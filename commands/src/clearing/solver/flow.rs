//! Minimum-cost flow with cost 1 per unit on every arc, by primal-dual phases: a Dial-bucket
//! shortest-path pass over reduced costs, then a maximum flow over the arcs of reduced cost 0.
//!
//! The flow `r` (what stays owed) starts at 0; a node's excess is what it still has to send (its
//! net debt over the kept arcs minus what it already sends; negative: what it still has to
//! receive). Invariant: with potentials `p`, every residual arc has reduced cost
//! `cost + p(tail) − p(head) >= 0` (costs are +1 on a forward residual arc, −1 on a reverse one).
//! It holds at the start (`r = 0`, `p = 0`, only forward arcs). Each phase finds shortest
//! distances `d` from the nodes with excess and raises every `p(v)` by `min(d(v), D)`, `D` the
//! distance of the nearest node with a deficit: the invariant still holds and the arcs of every
//! shortest path get reduced cost 0. A maximum flow over the arcs of reduced cost 0 only (their
//! reverses have reduced cost 0 too) then keeps the invariant. When no node has an excess left,
//! the flow meets every net position, and a flow whose residual arcs all have non-negative
//! reduced cost has no negative cycle: it is of minimum cost.
//!
//! Each phase's maximum flow runs on a compact copy of the arcs of reduced cost 0 (about a third
//! of them here), by shortest augmenting paths with distance labels ("ISAP": labels are relabelled
//! locally, recomputed by a breadth-first search now and then, and a label nobody holds any more
//! cuts off everything above it: the gap heuristic). The phases are as many as the distinct
//! costs of augmenting paths: nine on the 1m preset.

use super::graph::Merged;

const NONE: u32 = u32::MAX;

/// The residual network: for node `u`, its residual arcs are `start[u]..start[u + 1]`, the forward
/// ones (cost +1, residual = capacity − flow) before `mid[u]`, the reverse ones (cost −1,
/// residual = flow) from `mid[u]`. `rev[a]` is the arc paired with `a`.
struct Network {
    start: Vec<u32>,
    mid: Vec<u32>,
    head: Vec<u32>,
    res: Vec<i64>,
    rev: Vec<u32>,
}

impl Network {
    /// Reduced cost of residual arc `a` out of `u`.
    #[inline]
    fn reduced(&self, p: &[i64], u: usize, a: usize) -> i64 {
        let cost = if (a as u32) < self.mid[u] { 1 } else { -1 };
        cost + p[u] - p[self.head[a] as usize]
    }
}

/// What stays owed on each arc of `merged` (0 on arcs not `kept`) in a minimum-cost flow over the
/// kept arcs that meets every node's net position over them; `None` if there is none (cannot
/// happen: the full amounts are one).
pub(crate) fn min_cost_flow(n: usize, merged: &Merged, kept: &[bool]) -> Option<Vec<i64>> {
    let arcs = merged.head.len();
    let mut out_degree = vec![0_u32; n];
    let mut in_degree = vec![0_u32; n];
    let mut excess = vec![0_i64; n];
    for a in (0..arcs).filter(|&a| kept[a]) {
        let (u, v) = (merged.tail[a] as usize, merged.head[a] as usize);
        out_degree[u] += 1;
        in_degree[v] += 1;
        excess[u] += merged.cap[a];
        excess[v] -= merged.cap[a];
    }
    let mut start = vec![0_u32; n + 1];
    let mut mid = vec![0_u32; n];
    for u in 0..n {
        mid[u] = start[u] + out_degree[u];
        start[u + 1] = mid[u] + in_degree[u];
    }
    let total = start[n] as usize;
    let mut net =
        Network { start, mid, head: vec![0; total], res: vec![0; total], rev: vec![0; total] };
    let mut fill_out = out_degree;
    fill_out.copy_from_slice(&net.start[..n]);
    let mut fill_in = in_degree;
    fill_in.copy_from_slice(&net.mid);
    let mut forward = vec![NONE; arcs];
    for a in (0..arcs).filter(|&a| kept[a]) {
        let (u, v) = (merged.tail[a] as usize, merged.head[a] as usize);
        let (f, r) = (fill_out[u] as usize, fill_in[v] as usize);
        fill_out[u] += 1;
        fill_in[v] += 1;
        net.head[f] = v as u32;
        net.res[f] = merged.cap[a];
        net.rev[f] = r as u32;
        net.head[r] = u as u32;
        net.rev[r] = f as u32;
        forward[a] = f as u32;
    }
    drop((fill_out, fill_in));

    let mut solver = Solver::new(net, excess);
    if !solver.run() {
        return None;
    }
    let net = &solver.net;
    Some(
        (0..arcs)
            .map(|a| if kept[a] { net.res[net.rev[forward[a] as usize] as usize] } else { 0 })
            .collect(),
    )
}

/// The arcs of reduced cost 0 of one phase, as a residual network of their own: `pos[k]` is arc
/// `k`'s position in the full network, where its residual goes back at the end of the phase.
#[derive(Default)]
struct Admissible {
    start: Vec<u32>,
    head: Vec<u32>,
    res: Vec<i64>,
    rev: Vec<u32>,
    pos: Vec<u32>,
    /// Position in `head` of each arc of the full network (`NONE` when not admissible).
    index: Vec<u32>,
}

struct Solver {
    net: Network,
    excess: Vec<i64>,
    /// Potentials.
    p: Vec<i64>,
    /// Dial's distances (`i64::MAX` between phases).
    dist: Vec<i64>,
    /// The maximum flow's distance labels.
    label: Vec<u32>,
    /// The nodes of each label, in doubly linked lists (for the gap heuristic).
    first: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The current arc of each node.
    cur: Vec<u32>,
    buckets: Vec<Vec<u32>>,
    queue: Vec<u32>,
    sources: Vec<u32>,
    adm: Admissible,
}

impl Solver {
    fn new(net: Network, excess: Vec<i64>) -> Solver {
        let n = excess.len();
        let sources = (0..n as u32).filter(|&v| excess[v as usize] > 0).collect();
        Solver {
            net,
            excess,
            p: vec![0; n],
            dist: vec![i64::MAX; n],
            label: vec![0; n],
            first: vec![NONE; n + 1],
            next: vec![NONE; n],
            prev: vec![NONE; n],
            cur: vec![0; n],
            buckets: Vec::new(),
            queue: Vec::new(),
            sources,
            adm: Admissible::default(),
        }
    }

    /// False if some excess cannot reach a deficit, which cannot happen: the full amounts are a
    /// flow that meets every net position.
    fn run(&mut self) -> bool {
        while !self.sources.is_empty() {
            if !self.shortest_paths() {
                return false;
            }
            self.admissible();
            self.max_flow();
            let excess = &self.excess;
            self.sources.retain(|&s| excess[s as usize] > 0);
        }
        true
    }

    /// Dial's algorithm from every node with excess over reduced costs, stopped at the first node
    /// with a deficit (distance `D`); raises the potentials by `min(d, D)`. False if no node with
    /// a deficit is reachable.
    fn shortest_paths(&mut self) -> bool {
        let net = &self.net;
        let (p, dist, excess, buckets) =
            (&mut self.p, &mut self.dist, &self.excess, &mut self.buckets);
        if buckets.is_empty() {
            buckets.push(Vec::new());
        }
        for &s in &self.sources {
            dist[s as usize] = 0;
            buckets[0].push(s);
        }
        let mut found = None;
        let mut b = 0_usize;
        'scan: while b < buckets.len() {
            while let Some(u) = buckets[b].pop() {
                let u = u as usize;
                if dist[u] != b as i64 {
                    continue; // a stale entry: `u` was reached closer since
                }
                if excess[u] < 0 {
                    found = Some(b as i64);
                    break 'scan;
                }
                // `u` is final: reduced costs are >= 0, so nothing later comes closer.
                for a in net.start[u] as usize..net.start[u + 1] as usize {
                    if net.res[a] == 0 {
                        continue;
                    }
                    let h = net.head[a] as usize;
                    let nd = b as i64 + net.reduced(p, u, a);
                    if nd < dist[h] {
                        dist[h] = nd;
                        let nd = nd as usize;
                        if nd >= buckets.len() {
                            buckets.resize_with(nd + 1, Vec::new);
                        }
                        buckets[nd].push(h as u32);
                    }
                }
            }
            b += 1;
        }
        for bucket in buckets.iter_mut() {
            bucket.clear();
        }
        let Some(d) = found else { return false };
        for (pv, dv) in p.iter_mut().zip(dist.iter_mut()) {
            *pv += (*dv).min(d);
            *dv = i64::MAX;
        }
        true
    }

    /// Copies the arcs of reduced cost 0 (with or without residual) into `adm`.
    fn admissible(&mut self) {
        let (net, p, adm) = (&self.net, &self.p, &mut self.adm);
        let n = p.len();
        adm.start.clear();
        adm.head.clear();
        adm.res.clear();
        adm.pos.clear();
        adm.index.clear();
        adm.index.resize(net.head.len(), NONE);
        for u in 0..n {
            adm.start.push(adm.head.len() as u32);
            for a in net.start[u] as usize..net.start[u + 1] as usize {
                if net.reduced(p, u, a) == 0 {
                    adm.index[a] = adm.head.len() as u32;
                    adm.head.push(net.head[a]);
                    adm.res.push(net.res[a]);
                    adm.pos.push(a as u32);
                }
            }
        }
        adm.start.push(adm.head.len() as u32);
        adm.rev.clear();
        adm.rev.extend(adm.pos.iter().map(|&a| adm.index[net.rev[a as usize] as usize]));
    }

    /// Maximum flow from the nodes with excess to the nodes with deficit over `adm`, by shortest
    /// augmenting paths; its residuals go back to the full network.
    fn max_flow(&mut self) {
        let n = self.p.len() as u32;
        let mut labels = Labels {
            label: &mut self.label,
            first: &mut self.first,
            next: &mut self.next,
            prev: &mut self.prev,
            top: 0,
        };
        let (adm, cur, excess, queue) =
            (&mut self.adm, &mut self.cur, &mut self.excess, &mut self.queue);
        labels.exact(adm, excess, queue);
        cur.copy_from_slice(&adm.start[..n as usize]);
        // Relabelling work after which the labels are recomputed exactly.
        let threshold = 2 * adm.head.len() as u64 + u64::from(n);
        let mut work = 0_u64;
        let mut path: Vec<u32> = Vec::new();
        let mut nodes: Vec<u32> = Vec::new();
        for &s in &self.sources {
            path.clear();
            nodes.clear();
            nodes.push(s);
            let s = s as usize;
            while excess[s] > 0 && labels.label[s] < n {
                let Some(&u) = nodes.last() else { break };
                let u = u as usize;
                if excess[u] < 0 {
                    // At a deficit: augment along the path.
                    let mut f = excess[s].min(-excess[u]);
                    for &a in &path {
                        f = f.min(adm.res[a as usize]);
                    }
                    for &a in &path {
                        adm.res[a as usize] -= f;
                        adm.res[adm.rev[a as usize] as usize] += f;
                    }
                    excess[s] -= f;
                    excess[u] += f;
                    if let Some(k) = path.iter().position(|&a| adm.res[a as usize] == 0) {
                        path.truncate(k);
                        nodes.truncate(k + 1);
                    }
                    continue;
                }
                let du = labels.label[u];
                let end = adm.start[u + 1];
                let mut a = cur[u];
                while a < end
                    && (adm.res[a as usize] == 0
                        || labels.label[adm.head[a as usize] as usize] + 1 != du)
                {
                    a += 1;
                }
                cur[u] = a;
                if a < end {
                    path.push(a);
                    nodes.push(adm.head[a as usize]);
                    continue;
                }
                // No admissible arc out of `u`: relabel it, and step back.
                let begin = adm.start[u];
                let mut m = n;
                for a in begin as usize..end as usize {
                    if adm.res[a] > 0 {
                        m = m.min(labels.label[adm.head[a] as usize] + 1);
                    }
                }
                work += u64::from(end - begin) + 1;
                labels.relabel(u, m, n);
                cur[u] = begin;
                if nodes.len() > 1 {
                    nodes.pop();
                    path.pop();
                }
                if work > threshold {
                    work = 0;
                    labels.exact(adm, excess, queue);
                    cur.copy_from_slice(&adm.start[..n as usize]);
                    path.clear();
                    nodes.truncate(1);
                }
            }
        }
        for (&a, &r) in adm.pos.iter().zip(&adm.res) {
            self.net.res[a as usize] = r;
        }
    }
}

/// Distance labels to the nearest node with a deficit (`n`: none reachable), each label's nodes
/// in a doubly linked list.
struct Labels<'a> {
    label: &'a mut [u32],
    first: &'a mut [u32],
    next: &'a mut [u32],
    prev: &'a mut [u32],
    /// No node has a label in `top + 1..n`.
    top: u32,
}

impl Labels<'_> {
    fn insert(&mut self, v: usize, l: u32) {
        self.label[v] = l;
        let f = self.first[l as usize];
        self.next[v] = f;
        self.prev[v] = NONE;
        if f != NONE {
            self.prev[f as usize] = v as u32;
        }
        self.first[l as usize] = v as u32;
        self.top = self.top.max(l);
    }

    fn remove(&mut self, v: usize) {
        let (p, x) = (self.prev[v], self.next[v]);
        if p == NONE {
            self.first[self.label[v] as usize] = x;
        } else {
            self.next[p as usize] = x;
        }
        if x != NONE {
            self.prev[x as usize] = p;
        }
    }

    /// Exact labels by a breadth-first search backwards from the deficits over the arcs with
    /// residual.
    fn exact(&mut self, adm: &Admissible, excess: &[i64], queue: &mut Vec<u32>) {
        let n = self.label.len() as u32;
        self.label.fill(n);
        self.first.fill(NONE);
        self.top = 0;
        queue.clear();
        for (v, _) in excess.iter().enumerate().filter(|(_, x)| **x < 0) {
            self.insert(v, 0);
            queue.push(v as u32);
        }
        let mut i = 0;
        while i < queue.len() {
            let v = queue[i] as usize;
            i += 1;
            let next = self.label[v] + 1;
            for a in adm.start[v] as usize..adm.start[v + 1] as usize {
                let w = adm.head[a] as usize;
                if self.label[w] == n && adm.res[adm.rev[a] as usize] > 0 {
                    self.insert(w, next);
                    queue.push(w as u32);
                }
            }
        }
    }

    /// Gives `v` (labelled below `n`) the label `m`; when its old label is then held by no node,
    /// every node above it can reach no deficit any more: they all get `n` (the gap heuristic).
    fn relabel(&mut self, v: usize, m: u32, n: u32) {
        let old = self.label[v];
        self.remove(v);
        if self.first[old as usize] == NONE {
            self.label[v] = n;
            for l in old + 1..=self.top {
                let mut x = std::mem::replace(&mut self.first[l as usize], NONE);
                while x != NONE {
                    self.label[x as usize] = n;
                    x = self.next[x as usize];
                }
            }
            self.top = old;
        } else if m < n {
            self.insert(v, m);
        } else {
            self.label[v] = n;
        }
    }
}
