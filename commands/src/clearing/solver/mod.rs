//! The optimal set-off of obligations (SPEC §3.5, benchmark B4): pure, exact, deterministic.
//!
//! Given obligations "`debtor` owes `creditor` `amount`", find set-offs `0 <= s(o) <= amount(o)`
//! such that every member owes as much set-off as is owed to them (each net position unchanged)
//! and the total set off is the largest possible. The set-off is a maximum-weight circulation;
//! what stays owed, `r = amount - s`, is then a minimum-cost flow with cost 1 per unit on every
//! arc, capacity `amount`, that moves each net debtor's net position to the net creditors. Total
//! cleared = total debt − that minimum cost.
//!
//! How ([`optimal_set_off`]):
//! 1. `graph::Merged`: parallel obligations (same debtor, same creditor) become one arc;
//! 2. `graph::strong_components`: an arc between two strongly connected components lies on no
//!    cycle, so no circulation uses it; only the arcs inside a component are kept;
//! 3. `flow::min_cost_flow`: a primal-dual (successive shortest paths) min-cost flow on the kept
//!    arcs. All costs are 1, so each phase is one Dial-bucket shortest-path pass over reduced
//!    costs, then a maximum flow over the arcs of reduced cost 0 (shortest augmenting paths with
//!    distance labels, global relabelling and the gap heuristic); the phases are as many as the
//!    distinct augmenting-path costs, few on such graphs (nine on B4's 1m preset). The reduced
//!    costs stay non-negative throughout, so each phase's flow is of minimum cost among flows of
//!    its value, and the last one, which meets every net position, is of minimum cost: the
//!    set-off is optimal.
//! 4. Each arc's set-off is split back over its obligations in input order (the first takes as
//!    much as it can), so the same input always gives the same output.
//!
//! Integers only: amounts are `i64` minor units, sums are checked against `i64::MAX` up front.

mod flow;
mod graph;

/// One obligation: `debtor` owes `creditor` `amount` (integer minor units, > 0). Members are dense
/// indexes `0..members`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obligation {
    pub debtor: u32,
    pub creditor: u32,
    pub amount: i64,
}

/// Why a set of obligations cannot be cleared. `index` is the obligation's position in the input.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClearingError {
    #[error("obligation {index}: amount {amount} is not positive")]
    NonPositiveAmount { index: usize, amount: i64 },
    #[error("obligation {index}: member {member} is out of range (there are {members} members)")]
    MemberOutOfRange { index: usize, member: u32, members: u32 },
    #[error("obligation {index}: member {member} owes themselves")]
    SelfObligation { index: usize, member: u32 },
    #[error("the total debt exceeds {max}", max = i64::MAX)]
    TotalOverflow,
    #[error("{count} obligations are more than the {max} a clearing run takes", max = MAX_OBLIGATIONS)]
    TooManyObligations { count: usize },
    /// A bug: the solver's result failed its own check. Reported rather than applied.
    #[error("internal error in the set-off solver: {0}")]
    Internal(String),
}

/// The most obligations one run takes (arcs and their reverses are numbered in `u32`).
pub const MAX_OBLIGATIONS: usize = (u32::MAX / 2) as usize;

/// Checks the input: every amount positive, every member in range, no one owing themselves, the
/// total debt within `i64`. Returns the total debt.
pub fn validate(members: u32, obligations: &[Obligation]) -> Result<i64, ClearingError> {
    if obligations.len() > MAX_OBLIGATIONS {
        return Err(ClearingError::TooManyObligations { count: obligations.len() });
    }
    let mut total: i64 = 0;
    for (index, o) in obligations.iter().enumerate() {
        if o.amount <= 0 {
            return Err(ClearingError::NonPositiveAmount { index, amount: o.amount });
        }
        for member in [o.debtor, o.creditor] {
            if member >= members {
                return Err(ClearingError::MemberOutOfRange { index, member, members });
            }
        }
        if o.debtor == o.creditor {
            return Err(ClearingError::SelfObligation { index, member: o.debtor });
        }
        total = total.checked_add(o.amount).ok_or(ClearingError::TotalOverflow)?;
    }
    Ok(total)
}

/// The set-off `s(o)` for each obligation, in the order of the input: `0 <= s(o) <= amount(o)`,
/// for every member the set-off they owe equals the set-off owed to them, and the total set off
/// is the maximum possible. Deterministic: the same input gives the same output.
pub fn optimal_set_off(
    members: u32,
    obligations: &[Obligation],
) -> Result<Vec<i64>, ClearingError> {
    validate(members, obligations)?;
    let n = members as usize;
    let merged = graph::Merged::new(n, obligations);
    let component = graph::strong_components(&merged.start, &merged.head);
    let kept: Vec<bool> = merged
        .tail
        .iter()
        .zip(&merged.head)
        .map(|(&u, &v)| component[u as usize] == component[v as usize])
        .collect();
    let remaining = flow::min_cost_flow(n, &merged, &kept)
        .ok_or_else(|| ClearingError::Internal("no flow meets the net positions".into()))?;

    // Split each arc's set-off over its obligations in input order.
    let mut left: Vec<i64> = merged
        .cap
        .iter()
        .zip(&remaining)
        .zip(&kept)
        .map(|((c, r), k)| if *k { c - r } else { 0 })
        .collect();
    let set_off: Vec<i64> = obligations
        .iter()
        .zip(&merged.arc_of)
        .map(|(o, &a)| {
            let s = left[a as usize].min(o.amount);
            left[a as usize] -= s;
            s
        })
        .collect();
    // Cheap next to the solve; a set-off that changed a net position must never be applied.
    check_set_off(members, obligations, &set_off).map_err(ClearingError::Internal)?;
    Ok(set_off)
}

/// Totals for reports. `bound` = `total_debt − net_internal_debt` is what no set-off can exceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    /// The sum of the amounts.
    pub total_debt: i64,
    /// The sum of the set-offs.
    pub cleared: i64,
    /// NID: the sum of the positive net positions (owed to a member minus what they owe).
    pub net_internal_debt: i64,
    /// `total_debt − net_internal_debt`.
    pub bound: i64,
}

/// The totals of `set_off` over `obligations` (valid input as [`validate`] takes it; sums that
/// would overflow stop at `i64::MAX`). Members out of range are left out of the net positions.
pub fn totals(members: u32, obligations: &[Obligation], set_off: &[i64]) -> Totals {
    let clamp = |x: i128| i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX });
    let mut net = vec![0_i128; members as usize];
    let mut total: i128 = 0;
    for o in obligations {
        total += i128::from(o.amount);
        if let Some(c) = net.get_mut(o.creditor as usize) {
            *c += i128::from(o.amount);
        }
        if let Some(d) = net.get_mut(o.debtor as usize) {
            *d -= i128::from(o.amount);
        }
    }
    let nid: i128 = net.iter().filter(|x| **x > 0).sum();
    let cleared: i128 = set_off.iter().map(|s| i128::from(*s)).sum();
    Totals {
        total_debt: clamp(total),
        cleared: clamp(cleared),
        net_internal_debt: clamp(nid),
        bound: clamp(total - nid),
    }
}

/// Whether `set_off` is a valid set-off of `obligations` (one value per obligation, each in
/// `0..=amount`, every member's net position unchanged); the first problem found otherwise. It
/// says nothing of optimality.
pub fn check_set_off(
    members: u32,
    obligations: &[Obligation],
    set_off: &[i64],
) -> Result<(), String> {
    if set_off.len() != obligations.len() {
        return Err(format!("{} set-offs for {} obligations", set_off.len(), obligations.len()));
    }
    let mut balance = vec![0_i128; members as usize];
    for (index, (o, &s)) in obligations.iter().zip(set_off).enumerate() {
        if !(0..=o.amount).contains(&s) {
            return Err(format!("obligation {index}: set-off {s} outside 0..={}", o.amount));
        }
        let (Some(_), Some(_)) = (balance.get(o.debtor as usize), balance.get(o.creditor as usize))
        else {
            return Err(format!("obligation {index}: member out of range"));
        };
        balance[o.debtor as usize] -= i128::from(s);
        balance[o.creditor as usize] += i128::from(s);
    }
    match balance.iter().position(|b| *b != 0) {
        Some(m) => Err(format!(
            "member {m}: set-off owed to them differs from set-off they owe by {}",
            balance[m]
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
