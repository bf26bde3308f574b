use proptest::prelude::*;

use super::*;

fn o(debtor: u32, creditor: u32, amount: i64) -> Obligation {
    Obligation { debtor, creditor, amount }
}

/// The optimal set-off, checked valid.
fn solve(members: u32, obligations: &[Obligation]) -> Vec<i64> {
    let s = optimal_set_off(members, obligations).unwrap();
    check_set_off(members, obligations, &s).unwrap();
    s
}

fn cleared(members: u32, obligations: &[Obligation]) -> i64 {
    solve(members, obligations).iter().sum()
}

#[test]
fn a_triangle_clears_its_smallest_amount_on_each_side() {
    let obligations = [o(0, 1, 5), o(1, 2, 3), o(2, 0, 4)];
    assert_eq!(solve(3, &obligations), vec![3, 3, 3]);
}

#[test]
fn a_two_cycle_clears_the_smaller_amount_both_ways() {
    assert_eq!(solve(2, &[o(0, 1, 10), o(1, 0, 4)]), vec![4, 4]);
}

#[test]
fn a_chain_without_a_cycle_clears_nothing() {
    assert_eq!(solve(4, &[o(0, 1, 5), o(1, 2, 5), o(2, 3, 5)]), vec![0, 0, 0]);
}

#[test]
fn an_empty_input_clears_nothing() {
    assert_eq!(solve(0, &[]), Vec::<i64>::new());
    assert_eq!(solve(5, &[]), Vec::<i64>::new());
    assert_eq!(
        totals(0, &[], &[]),
        Totals { total_debt: 0, cleared: 0, net_internal_debt: 0, bound: 0 }
    );
}

#[test]
fn parallel_obligations_are_set_off_together_first_come_first_served() {
    // 0 owes 1 three then four; 1 owes 0 five: five cleared each way, the first of the parallel
    // obligations taking what it can.
    assert_eq!(solve(2, &[o(0, 1, 3), o(0, 1, 4), o(1, 0, 5)]), vec![3, 2, 5]);
    assert_eq!(solve(2, &[o(0, 1, 4), o(1, 0, 5), o(0, 1, 3)]), vec![4, 5, 1]);
}

/// Two triangles 0→1→4→0 and 2→3→5→2 and a square 0→1→2→3→0 through both, every amount 1. A
/// greedy "find a cycle, subtract its minimum" that takes the square first clears 4 and leaves no
/// cycle; the optimum clears both triangles: 6 (with the square's own arcs 1→2 and 3→0 at 0).
#[test]
fn overlapping_cycles_are_cleared_optimally_where_greedy_cycle_cancelling_is_not() {
    let obligations = [
        o(0, 1, 1),
        o(1, 2, 1),
        o(2, 3, 1),
        o(3, 0, 1),
        o(1, 4, 1),
        o(4, 0, 1),
        o(3, 5, 1),
        o(5, 2, 1),
    ];
    assert_eq!(solve(6, &obligations), vec![1, 0, 1, 0, 1, 1, 1, 1]);
    // The greedy order that goes wrong: the square first, then nothing is left to cancel.
    let square = [1, 1, 1, 1, 0, 0, 0, 0];
    check_set_off(6, &obligations, &square).unwrap();
    assert_eq!(square.iter().sum::<i64>(), 4);
    assert_eq!(exhaustive_optimum(6, &obligations), 6);
}

#[test]
fn obligations_between_components_carry_no_set_off() {
    // Two 2-cycles joined one way only by 1→2: that arc lies on no cycle.
    let obligations = [o(0, 1, 7), o(1, 0, 7), o(1, 2, 9), o(2, 3, 2), o(3, 2, 5)];
    assert_eq!(solve(4, &obligations), vec![7, 7, 0, 2, 2]);
}

#[test]
fn large_amounts_stay_exact() {
    let big = 1_i64 << 40;
    let obligations =
        [o(0, 1, big + 2), o(1, 2, big + 1), o(2, 0, big), o(2, 1, 3 * big), o(1, 0, 5)];
    // With s = (a, b, c, d, e): a = c + e, b = c + d, total 3c + 2d + 2e, a <= big + 2 and
    // b <= big + 1 bind: c = big − 3, d = 4, e = 5 gives 3·big + 9, the unique optimum.
    let s = solve(3, &obligations);
    assert_eq!(s, vec![big + 2, big + 1, big - 3, 4, 5]);
    assert_eq!(reference_cleared(3, &obligations), 3 * big + 9);
    let t = totals(3, &obligations, &s);
    assert_eq!((t.total_debt, t.cleared), (6 * big + 8, 3 * big + 9));
    assert!(t.cleared > i64::from(u32::MAX) && t.cleared <= t.bound);
}

#[test]
fn totals_report_debt_cleared_nid_and_bound() {
    let obligations = [o(0, 1, 5), o(1, 2, 3), o(2, 0, 4)];
    let s = solve(3, &obligations);
    // Net positions: 0: 4 − 5 = −1, 1: 5 − 3 = +2, 2: 3 − 4 = −1.
    assert_eq!(
        totals(3, &obligations, &s),
        Totals { total_debt: 12, cleared: 9, net_internal_debt: 2, bound: 10 }
    );
}

#[test]
fn invalid_inputs_give_each_error() {
    assert_eq!(
        optimal_set_off(2, &[o(0, 1, 1), o(1, 0, 0)]),
        Err(ClearingError::NonPositiveAmount { index: 1, amount: 0 })
    );
    assert_eq!(
        optimal_set_off(2, &[o(0, 1, -3)]),
        Err(ClearingError::NonPositiveAmount { index: 0, amount: -3 })
    );
    assert_eq!(
        optimal_set_off(2, &[o(0, 1, 1), o(2, 0, 1)]),
        Err(ClearingError::MemberOutOfRange { index: 1, member: 2, members: 2 })
    );
    assert_eq!(
        optimal_set_off(2, &[o(0, 7, 1)]),
        Err(ClearingError::MemberOutOfRange { index: 0, member: 7, members: 2 })
    );
    assert_eq!(
        optimal_set_off(3, &[o(0, 1, 1), o(2, 2, 1)]),
        Err(ClearingError::SelfObligation { index: 1, member: 2 })
    );
    assert_eq!(
        optimal_set_off(2, &[o(0, 1, i64::MAX / 2 + 1), o(1, 0, i64::MAX / 2 + 1)]),
        Err(ClearingError::TotalOverflow)
    );
    // Exactly i64::MAX in all is fine.
    assert_eq!(
        optimal_set_off(2, &[o(0, 1, i64::MAX / 2 + 1), o(1, 0, i64::MAX / 2)]),
        Ok(vec![i64::MAX / 2, i64::MAX / 2])
    );
    for e in [
        ClearingError::NonPositiveAmount { index: 1, amount: 0 },
        ClearingError::MemberOutOfRange { index: 0, member: 7, members: 2 },
        ClearingError::SelfObligation { index: 1, member: 2 },
        ClearingError::TotalOverflow,
        ClearingError::TooManyObligations { count: MAX_OBLIGATIONS + 1 },
    ] {
        assert!(e.to_string().len() > 10, "{e:?}");
    }
    assert_eq!(
        ClearingError::NonPositiveAmount { index: 1, amount: 0 }.to_string(),
        "obligation 1: amount 0 is not positive"
    );
}

#[test]
fn check_set_off_rejects_what_is_not_a_set_off() {
    let obligations = [o(0, 1, 5), o(1, 2, 3), o(2, 0, 4)];
    assert!(check_set_off(3, &obligations, &[3, 3, 3]).is_ok());
    assert!(check_set_off(3, &obligations, &[0, 0, 0]).is_ok());
    assert!(check_set_off(3, &obligations, &[3, 3]).is_err());
    assert!(check_set_off(3, &obligations, &[4, 4, 4]).is_err());
    assert!(check_set_off(3, &obligations, &[-1, -1, -1]).is_err());
    assert!(check_set_off(3, &obligations, &[3, 2, 3]).is_err());
}

#[test]
fn deep_graphs_need_no_recursion() {
    // A cycle through 200,000 members: Tarjan's search goes 200,000 deep.
    let n = 200_000_u32;
    let obligations: Vec<Obligation> =
        (0..n).map(|i| o(i, (i + 1) % n, 1 + i64::from(i % 3))).collect();
    let s = solve(n, &obligations);
    assert!(s.iter().all(|&x| x == 1));
}

// ---- references -------------------------------------------------------------------------------

/// The optimum by enumerating every vector in Π[0..=amount(o)] and keeping the circulations
/// (balances updated incrementally, odometer order).
fn exhaustive_optimum(members: u32, obligations: &[Obligation]) -> i64 {
    let mut s = vec![0_i64; obligations.len()];
    let mut balance = vec![0_i64; members as usize];
    let mut best = 0;
    let mut sum = 0;
    loop {
        if sum > best && balance.iter().all(|b| *b == 0) {
            best = sum;
        }
        // Next vector.
        let mut i = 0;
        loop {
            let Some(ob) = obligations.get(i) else {
                return best;
            };
            let (d, c) = (ob.debtor as usize, ob.creditor as usize);
            if s[i] < ob.amount {
                s[i] += 1;
                sum += 1;
                balance[d] -= 1;
                balance[c] += 1;
                break;
            }
            sum -= s[i];
            balance[d] += s[i];
            balance[c] -= s[i];
            s[i] = 0;
            i += 1;
        }
    }
}

/// The set-off total by an independent min-cost flow: what stays owed, `r`, is a flow meeting the
/// net positions with cost 1 a unit on every obligation; plain successive shortest paths from a
/// super source to a super sink, each path found by Bellman-Ford (queue-based), no merging of
/// obligations, no components. Cleared = total debt − minimum cost.
fn reference_cleared(members: u32, obligations: &[Obligation]) -> i64 {
    struct Arc {
        to: usize,
        cap: i128,
        cost: i64,
    }
    let n = members as usize + 2;
    let (source, sink) = (n - 2, n - 1);
    let mut arcs: Vec<Arc> = Vec::new();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut add = |arcs: &mut Vec<Arc>, u: usize, v: usize, cap: i128, cost: i64| {
        out[u].push(arcs.len());
        arcs.push(Arc { to: v, cap, cost });
        out[v].push(arcs.len());
        arcs.push(Arc { to: u, cap: 0, cost: -cost });
    };
    let mut net = vec![0_i128; members as usize];
    let mut total: i128 = 0;
    for ob in obligations {
        add(&mut arcs, ob.debtor as usize, ob.creditor as usize, i128::from(ob.amount), 1);
        net[ob.debtor as usize] += i128::from(ob.amount);
        net[ob.creditor as usize] -= i128::from(ob.amount);
        total += i128::from(ob.amount);
    }
    for (v, &b) in net.iter().enumerate() {
        if b > 0 {
            add(&mut arcs, source, v, b, 0);
        } else if b < 0 {
            add(&mut arcs, v, sink, -b, 0);
        }
    }
    let mut cost: i128 = 0;
    loop {
        let mut dist = vec![i64::MAX; n];
        let mut via = vec![usize::MAX; n];
        let mut queued = vec![false; n];
        let mut queue = std::collections::VecDeque::from([source]);
        dist[source] = 0;
        while let Some(u) = queue.pop_front() {
            queued[u] = false;
            for &a in &out[u] {
                let arc = &arcs[a];
                if arc.cap > 0 && dist[u] + arc.cost < dist[arc.to] {
                    dist[arc.to] = dist[u] + arc.cost;
                    via[arc.to] = a;
                    if !queued[arc.to] {
                        queued[arc.to] = true;
                        queue.push_back(arc.to);
                    }
                }
            }
        }
        if dist[sink] == i64::MAX {
            break;
        }
        let mut f = i128::MAX;
        let mut v = sink;
        while v != source {
            let a = via[v];
            f = f.min(arcs[a].cap);
            v = arcs[a ^ 1].to;
        }
        let mut v = sink;
        while v != source {
            let a = via[v];
            arcs[a].cap -= f;
            arcs[a ^ 1].cap += f;
            v = arcs[a ^ 1].to;
        }
        cost += f * i128::from(dist[sink]);
    }
    i64::try_from(total - cost).unwrap()
}

#[test]
fn the_references_agree_on_the_hand_made_graphs() {
    let triangle = [o(0, 1, 5), o(1, 2, 3), o(2, 0, 4)];
    assert_eq!((exhaustive_optimum(3, &triangle), reference_cleared(3, &triangle)), (9, 9));
    let chain = [o(0, 1, 5), o(1, 2, 5)];
    assert_eq!((exhaustive_optimum(3, &chain), reference_cleared(3, &chain)), (0, 0));
}

// ---- properties -------------------------------------------------------------------------------

/// Up to 5 members and 7 obligations of 1..=4 (no one owing themselves).
fn small_graph() -> impl Strategy<Value = (u32, Vec<Obligation>)> {
    (2_u32..=5).prop_flat_map(|members| {
        let obligation = (0..members, 1..members, 1_i64..=4)
            .prop_map(move |(d, k, a)| o(d, (d + k) % members, a));
        (Just(members), proptest::collection::vec(obligation, 0..=7))
    })
}

/// `members` members, `count` obligations; amounts small or beyond 2^32.
fn medium_graph(
    members: u32,
    count: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = (u32, Vec<Obligation>)> {
    let amount = prop_oneof![4 => 1_i64..=1_000, 1 => (1_i64 << 32)..=(1_i64 << 40)];
    let obligation =
        (0..members, 1..members, amount).prop_map(move |(d, k, a)| o(d, (d + k) % members, a));
    (Just(members), proptest::collection::vec(obligation, count))
}

fn relabelled(obligations: &[Obligation], perm: &[u32]) -> Vec<Obligation> {
    obligations
        .iter()
        .map(|x| o(perm[x.debtor as usize], perm[x.creditor as usize], x.amount))
        .collect()
}

proptest! {
    /// Same optimum as exhaustive enumeration; valid; deterministic; the same total whatever the
    /// members are called and whatever the order of the obligations.
    #[test]
    fn small_graphs_are_cleared_optimally(
        (members, obligations) in small_graph(),
        perm in Just((0..5_u32).collect::<Vec<_>>()).prop_shuffle(),
        order in Just((0..7_usize).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let s = optimal_set_off(members, &obligations).unwrap();
        prop_assert_eq!(check_set_off(members, &obligations, &s), Ok(()));
        for (x, ob) in s.iter().zip(&obligations) {
            prop_assert!((0..=ob.amount).contains(x));
        }
        let total: i64 = s.iter().sum();
        prop_assert_eq!(total, exhaustive_optimum(members, &obligations));
        prop_assert_eq!(&optimal_set_off(members, &obligations).unwrap(), &s);

        let perm: Vec<u32> = perm.into_iter().filter(|&p| p < members).collect();
        let renamed = relabelled(&obligations, &perm);
        prop_assert_eq!(cleared(members, &renamed), total);

        let shuffled: Vec<Obligation> = order.iter().filter_map(|&i| obligations.get(i).copied()).collect();
        prop_assert_eq!(cleared(members, &shuffled), total);

        let t = totals(members, &obligations, &s);
        prop_assert_eq!(t.cleared, total);
        prop_assert!(t.cleared <= t.bound);
        prop_assert_eq!(t.total_debt, obligations.iter().map(|x| x.amount).sum::<i64>());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// 50 members, 300 obligations: valid and the same total as the reference min-cost flow.
    #[test]
    fn medium_graphs_match_a_reference_min_cost_flow((members, obligations) in medium_graph(50, 300..=300)) {
        let s = optimal_set_off(members, &obligations).unwrap();
        prop_assert_eq!(check_set_off(members, &obligations, &s), Ok(()));
        prop_assert_eq!(s.iter().sum::<i64>(), reference_cleared(members, &obligations));
    }

    /// Sparse graphs, many components and arcs between them.
    #[test]
    fn sparse_graphs_match_a_reference_min_cost_flow((members, obligations) in medium_graph(40, 10..=70)) {
        let s = optimal_set_off(members, &obligations).unwrap();
        prop_assert_eq!(check_set_off(members, &obligations, &s), Ok(()));
        prop_assert_eq!(s.iter().sum::<i64>(), reference_cleared(members, &obligations));
    }
}

/// Members on a ring, each owing its next few neighbours: long augmenting paths, many phases.
fn ring_graph(
    members: u32,
    count: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = (u32, Vec<Obligation>)> {
    let obligation =
        (0..members, 1_u32..=3, any::<bool>(), 1_i64..=50).prop_map(move |(d, k, back, a)| {
            let c = if back { (d + members - k) % members } else { (d + k) % members };
            o(d, c, a)
        });
    (Just(members), proptest::collection::vec(obligation, count))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn ring_graphs_match_a_reference_min_cost_flow((members, obligations) in ring_graph(60, 60..=200)) {
        let s = optimal_set_off(members, &obligations).unwrap();
        prop_assert_eq!(check_set_off(members, &obligations, &s), Ok(()));
        prop_assert_eq!(s.iter().sum::<i64>(), reference_cleared(members, &obligations));
    }
}

proptest! {
    // Few cases: the reference solver is slow on these in a debug build (each case still checks
    // up to 6,000 obligations against it; 8 take about 8 s).
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Larger graphs: the dense kind of the medium ones and rings with long augmenting paths.
    #[test]
    fn large_graphs_match_a_reference_min_cost_flow(
        (members, obligations) in prop_oneof![medium_graph(500, 1_000..=5_000), ring_graph(2_000, 2_000..=6_000)],
    ) {
        let s = optimal_set_off(members, &obligations).unwrap();
        prop_assert_eq!(check_set_off(members, &obligations, &s), Ok(()));
        prop_assert_eq!(s.iter().sum::<i64>(), reference_cleared(members, &obligations));
    }
}
