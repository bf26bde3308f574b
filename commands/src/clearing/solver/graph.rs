//! The obligation graph: parallel obligations merged into arcs, in compressed (CSR) form, and its
//! strongly connected components.

use super::Obligation;

/// Obligations with the same debtor and creditor merged into one arc. Arcs are numbered by
/// debtor, then by the first obligation of each pair in input order: the arcs out of `u` are
/// `start[u]..start[u + 1]`.
pub(crate) struct Merged {
    pub start: Vec<u32>,
    pub tail: Vec<u32>,
    pub head: Vec<u32>,
    /// The sum of the merged amounts (input validated: it fits).
    pub cap: Vec<i64>,
    /// For each obligation, its arc.
    pub arc_of: Vec<u32>,
}

impl Merged {
    pub fn new(n: usize, obligations: &[Obligation]) -> Merged {
        // Stable counting sort of the obligations by debtor.
        let mut start = vec![0_u32; n + 1];
        for o in obligations {
            start[o.debtor as usize + 1] += 1;
        }
        for u in 0..n {
            start[u + 1] += start[u];
        }
        let mut fill = start.clone();
        let mut order = vec![0_u32; obligations.len()];
        for (i, o) in obligations.iter().enumerate() {
            let slot = &mut fill[o.debtor as usize];
            order[*slot as usize] = i as u32;
            *slot += 1;
        }
        // One arc per (debtor, creditor), found through the creditor's last arc.
        let mut last_arc = vec![u32::MAX; n];
        let mut arc_start = vec![0_u32; n + 1];
        let mut tail = Vec::with_capacity(obligations.len());
        let mut head = Vec::with_capacity(obligations.len());
        let mut cap: Vec<i64> = Vec::with_capacity(obligations.len());
        let mut arc_of = vec![0_u32; obligations.len()];
        for u in 0..n {
            arc_start[u] = head.len() as u32;
            for &i in &order[start[u] as usize..start[u + 1] as usize] {
                let o = obligations[i as usize];
                let v = o.creditor as usize;
                let a = last_arc[v];
                if a != u32::MAX && tail[a as usize] == u as u32 {
                    cap[a as usize] += o.amount;
                    arc_of[i as usize] = a;
                } else {
                    let a = head.len() as u32;
                    last_arc[v] = a;
                    tail.push(u as u32);
                    head.push(o.creditor);
                    cap.push(o.amount);
                    arc_of[i as usize] = a;
                }
            }
        }
        arc_start[n] = head.len() as u32;
        Merged { start: arc_start, tail, head, cap, arc_of }
    }
}

/// The strongly connected component of each node of the graph whose arcs out of `u` lead to
/// `head[start[u]..start[u + 1]]` (Tarjan's algorithm, iterative: no recursion however deep the
/// graph). Components are numbered in the order Tarjan completes them.
pub(crate) fn strong_components(start: &[u32], head: &[u32]) -> Vec<u32> {
    const NONE: u32 = u32::MAX;
    let n = start.len() - 1;
    let mut index = vec![NONE; n];
    let mut low = vec![0_u32; n];
    let mut component = vec![NONE; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    // The depth-first path: a node and the position of its next arc.
    let mut path: Vec<(u32, u32)> = Vec::new();
    let mut next_index = 0_u32;
    let mut components = 0_u32;
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root as u32);
        on_stack[root] = true;
        path.push((root as u32, start[root]));
        while let Some(&mut (u, ref mut pos)) = path.last_mut() {
            let u = u as usize;
            if *pos < start[u + 1] {
                let v = head[*pos as usize] as usize;
                *pos += 1;
                if index[v] == NONE {
                    index[v] = next_index;
                    low[v] = next_index;
                    next_index += 1;
                    stack.push(v as u32);
                    on_stack[v] = true;
                    path.push((v as u32, start[v]));
                } else if on_stack[v] {
                    low[u] = low[u].min(index[v]);
                }
                continue;
            }
            path.pop();
            if let Some(&(parent, _)) = path.last() {
                let parent = parent as usize;
                low[parent] = low[parent].min(low[u]);
            }
            if low[u] == index[u] {
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    component[w as usize] = components;
                    if w as usize == u {
                        break;
                    }
                }
                components += 1;
            }
        }
    }
    component
}
