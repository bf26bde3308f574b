//! Pools (SPEC §3.3): the `pools`, `pool_pledges`, `claims` and `claim_ballots` tables. An
//! approved claim's obligations are `records` rows in the pool's room.

use exodus_commands::{Code, FromCode};
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use exodus_commands::pool::{
    Ballot, Claim, ClaimId, ClaimState, PoolFacts, Renew, Rules, Verdict, Vote,
};
use exodus_commands::{Amount, MemberId};
use rust_decimal::Decimal;

use crate::ledger::member;
use crate::{Backend, Result, Store, StoreError, Tx, from_millis, millis, on_backend};

/// name, events, min, max pledge, max claim, quorum, approval, vote hours, pay days, renew.
type RulesRow = (String, String, i64, Option<i64>, Option<i64>, String, String, i64, i64, String);
const RULES: &str = "name, events, min_pledge_cents, max_pledge_cents, max_claim_cents, quorum, approval, vote_hours, pay_days, renew";

/// id, room, claimant, event, amount, description, state, verdict, covered, opened, closes, decided.
type ClaimRow = (
    i64,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
);
const CLAIM: &str = "id, room_id, claimant, event, amount_cents, description, state, verdict, covered_cents, opened_ms, closes_ms, decided_ms";

/// member and amount rows: pledges, charges.
type Amounts = Vec<(String, i64)>;

/// voter, vote, source, retracts, at.
type BallotRow = (String, Option<String>, String, Option<String>, i64);

fn corrupt(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what} {value}"))
}

fn rules(
    (name, events, min, max_pledge, max_claim, quorum, approval, vote_hours, pay_days, renew): RulesRow,
) -> Result<(String, Rules)> {
    let decimal = |s: &str| s.parse::<Decimal>().map_err(|_| corrupt("pool fraction", s));
    let hours = |n: i64| u32::try_from(n).map_err(|_| corrupt("pool rule", n));
    Ok((
        name,
        Rules {
            events: events.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect(),
            min_pledge: Amount::from_stored_cents(min),
            max_pledge: max_pledge.map(Amount::from_stored_cents),
            max_claim: max_claim.map(Amount::from_stored_cents),
            quorum: decimal(&quorum)?,
            approval: decimal(&approval)?,
            vote_hours: hours(vote_hours)?,
            pay_days: hours(pay_days)?,
            renew: Renew::from_code(&renew).ok_or_else(|| corrupt("pool renew", &renew))?,
        },
    ))
}

fn claim(row: ClaimRow) -> Result<Claim> {
    let (
        id,
        room_id,
        claimant,
        event,
        amount,
        description,
        state,
        verdict,
        covered,
        opened,
        closes,
        decided,
    ) = row;
    Ok(Claim {
        id,
        room_id,
        claimant: member(&claimant)?,
        event,
        amount: Amount::from_stored_cents(amount),
        description,
        state: ClaimState::from_code(&state).ok_or_else(|| corrupt("claim state", &state))?,
        verdict: verdict
            .as_deref()
            .map(|v| Verdict::from_code(v).ok_or_else(|| corrupt("claim verdict", v)))
            .transpose()?,
        covered: covered.map(Amount::from_stored_cents),
        opened: from_millis(opened)?,
        closes: from_millis(closes)?,
        decided: decided.map(from_millis).transpose()?,
    })
}

fn ballot((voter, vote, source, retracts, at): BallotRow) -> Result<Ballot> {
    Ok(Ballot {
        voter: member(&voter)?,
        vote: vote
            .as_deref()
            .map(|v| Vote::from_code(v).ok_or_else(|| corrupt("vote", v)))
            .transpose()?,
        source,
        retracts,
        at: from_millis(at)?,
    })
}

/// A member's pledge that ended (left the room, excluded, lapsed), for the announcement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedPledge {
    pub room_id: String,
    pub name: String,
    pub member: MemberId,
    pub pledge: Amount,
}

impl Store {
    /// Whether `room_id` is bound as a pool.
    pub async fn is_pool(&self, room_id: &str) -> Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM pools WHERE room_id = $1";
        let n: i64 = on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(room_id).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// The pool room of claim `#id`.
    pub async fn claim_room(&self, id: ClaimId) -> Result<Option<String>> {
        const SQL: &str = "SELECT room_id FROM claims WHERE id = $1";
        Ok(
            on_backend!(&self.pool, pool => sqlx::query_scalar(SQL).bind(id).fetch_optional(pool).await?),
        )
    }

    /// The claim and voter of the ballot event `source` cast (a redaction of it retracts it).
    pub async fn ballot_of(&self, source: &str) -> Result<Option<(ClaimId, MemberId)>> {
        const SQL: &str = "SELECT claim_id, voter FROM claim_ballots WHERE source_event_id = $1 AND vote IS NOT NULL";
        let row: Option<(i64, String)> = on_backend!(&self.pool, pool => sqlx::query_as(SQL).bind(source).fetch_optional(pool).await?);
        row.map(|(id, voter)| Ok((id, member(&voter)?))).transpose()
    }
}

impl Tx {
    /// Whether `room_id` is bound as a pool.
    pub async fn is_pool_room(&mut self, room_id: &str) -> Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM pools WHERE room_id = $1";
        let n: i64 = on_backend!(&mut self.tx, tx => sqlx::query_scalar(SQL).bind(room_id).fetch_one(&mut **tx).await?);
        Ok(n > 0)
    }

    /// The pool bound to `room_id` as the cycle that began at `cycle_start` sees it, its row
    /// locked on PostgreSQL (decisions about one pool are serialised): pledges (those of a pool
    /// renewed by hand lapse with their cycle), this cycle's charges, overdue members, and the
    /// claims being voted on with their ballots.
    pub async fn pool(
        &mut self,
        room_id: &str,
        cycle_start: DateTime<Utc>,
    ) -> Result<Option<PoolFacts>> {
        let lock = if self.anonymous_params() { "" } else { " FOR UPDATE" };
        let sql = format!("SELECT {RULES} FROM pools WHERE room_id = $1{lock}");
        let row: Option<RulesRow> = on_backend!(&mut self.tx, tx => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(room_id).fetch_optional(&mut **tx).await?);
        let Some(row) = row else { return Ok(None) };
        let (name, rules) = rules(row)?;
        let start = millis(cycle_start);
        const PLEDGES: &str = "SELECT member, amount_cents FROM pool_pledges WHERE room_id = $1 AND (cycle_ms >= $2 OR $3) ORDER BY member";
        const CHARGED: &str = "SELECT giver, CAST(SUM(amount_cents) AS BIGINT) FROM records WHERE room_id = $1 AND kind = 'obligation' \
             AND created_ms >= $2 AND state NOT IN ('cancelled', 'forgiven') GROUP BY giver";
        const OVERDUE: &str = "SELECT DISTINCT giver FROM ledger WHERE room_id = $1 AND kind = 'obligation' AND overdue \
             AND state IN ('open', 'paid')";
        let voting_sql = format!(
            "SELECT {CLAIM} FROM claims WHERE room_id = $1 AND state = 'voting' ORDER BY id"
        );
        let auto = rules.renew == Renew::Auto;
        let (pledges, charged, overdue, voting): (Amounts, Amounts, Vec<String>, Vec<ClaimRow>) = on_backend!(&mut self.tx, tx => {
            let pledges = sqlx::query_as(PLEDGES).bind(room_id).bind(start).bind(auto).fetch_all(&mut **tx).await?;
            let charged = sqlx::query_as(CHARGED).bind(room_id).bind(start).fetch_all(&mut **tx).await?;
            let overdue = sqlx::query_scalar(OVERDUE).bind(room_id).fetch_all(&mut **tx).await?;
            let voting = sqlx::query_as(sqlx::AssertSqlSafe(voting_sql.as_str())).bind(room_id).fetch_all(&mut **tx).await?;
            (pledges, charged, overdue, voting)
        });
        let amounts = |rows: Amounts| -> Result<BTreeMap<MemberId, Amount>> {
            rows.into_iter().map(|(m, c)| Ok((member(&m)?, Amount::from_stored_cents(c)))).collect()
        };
        let mut claims = Vec::with_capacity(voting.len());
        for row in voting {
            let c = claim(row)?;
            let ballots = self.ballots(c.id).await?;
            claims.push((c, ballots));
        }
        Ok(Some(PoolFacts {
            room_id: room_id.to_owned(),
            name,
            rules,
            pledges: amounts(pledges)?,
            charged: amounts(charged)?,
            overdue: overdue.iter().map(|m| member(m)).collect::<Result<BTreeSet<_>>>()?,
            voting: claims,
        }))
    }

    /// A claim's ballots in the order they came.
    pub async fn ballots(&mut self, claim: ClaimId) -> Result<Vec<Ballot>> {
        const SQL: &str = "SELECT voter, vote, source_event_id, retracts, at_ms FROM claim_ballots WHERE claim_id = $1 ORDER BY seq";
        let rows: Vec<BallotRow> = on_backend!(&mut self.tx, tx => sqlx::query_as(SQL).bind(claim).fetch_all(&mut **tx).await?);
        rows.into_iter().map(ballot).collect()
    }

    /// Binds `room_id` as a pool; `false` when it already is one (nothing written).
    pub async fn create_pool(
        &mut self,
        room_id: &str,
        name: &str,
        created_by: &MemberId,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        crate::no_nul("a pool's name", name)?;
        const SQL: &str = "INSERT INTO pools (room_id, name, created_by, created_ms, events, min_pledge_cents, max_pledge_cents, \
             max_claim_cents, quorum, approval, vote_hours, pay_days, renew) VALUES ($1, $2, $3, $4, '', 0, NULL, NULL, '0.5', '0.5', 24, 7, 'auto') \
             ON CONFLICT (room_id) DO NOTHING";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL).bind(room_id).bind(name).bind(created_by.as_str()).bind(millis(now))
            .execute(&mut **tx).await?.rows_affected());
        if n == 0 {
            return Ok(false);
        }
        self.set_pool_rules(room_id, rules).await?;
        Ok(true)
    }

    pub async fn set_pool_rules(&mut self, room_id: &str, rules: &Rules) -> Result<()> {
        const SQL: &str = "UPDATE pools SET events = $2, min_pledge_cents = $3, max_pledge_cents = $4, max_claim_cents = $5, \
             quorum = $6, approval = $7, vote_hours = $8, pay_days = $9, renew = $10 WHERE room_id = $1";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL)
            .bind(room_id)
            .bind(rules.events.join(","))
            .bind(rules.min_pledge.cents())
            .bind(rules.max_pledge.map(Amount::cents))
            .bind(rules.max_claim.map(Amount::cents))
            .bind(rules.quorum.to_string())
            .bind(rules.approval.to_string())
            .bind(i64::from(rules.vote_hours))
            .bind(i64::from(rules.pay_days))
            .bind(rules.renew.code())
            .execute(&mut **tx).await?.rows_affected());
        if n != 1 {
            return Err(StoreError::Corrupt(format!("no pool in {room_id}")));
        }
        Ok(())
    }

    /// Sets `member`'s pledge in the pool for the cycle that began at `cycle_start`; `None`
    /// removes it.
    pub async fn set_pledge(
        &mut self,
        room_id: &str,
        member: &MemberId,
        amount: Option<Amount>,
        cycle_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match amount {
            Some(amount) => {
                const SQL: &str = "INSERT INTO pool_pledges (room_id, member, amount_cents, cycle_ms, changed_ms) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (room_id, member) DO UPDATE SET amount_cents = excluded.amount_cents, cycle_ms = excluded.cycle_ms, \
                     changed_ms = excluded.changed_ms";
                on_backend!(&mut self.tx, tx => { sqlx::query(SQL).bind(room_id).bind(member.as_str()).bind(amount.cents())
                    .bind(millis(cycle_start)).bind(millis(now)).execute(&mut **tx).await?; });
            }
            None => {
                const SQL: &str = "DELETE FROM pool_pledges WHERE room_id = $1 AND member = $2";
                on_backend!(&mut self.tx, tx => { sqlx::query(SQL).bind(room_id).bind(member.as_str()).execute(&mut **tx).await?; });
            }
        }
        Ok(())
    }

    /// Removes `member`'s pledge in the pool `room_id` (they left the room), if they had one.
    pub async fn end_pledge(
        &mut self,
        room_id: &str,
        member: &MemberId,
    ) -> Result<Option<EndedPledge>> {
        const SQL: &str = "DELETE FROM pool_pledges WHERE room_id = $1 AND member = $2 RETURNING room_id, member, amount_cents, \
             (SELECT name FROM pools p WHERE p.room_id = pool_pledges.room_id)";
        let rows: Vec<(String, String, i64, String)> = on_backend!(&mut self.tx, tx => sqlx::query_as(SQL).bind(room_id).bind(member.as_str()).fetch_all(&mut **tx).await?);
        Ok(ended(rows)?.pop())
    }

    /// The number the next claim gets.
    pub async fn next_claim_id(&mut self) -> Result<ClaimId> {
        Ok(match &mut self.tx {
            Backend::Sqlite(tx) => {
                sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) + 1 FROM claims")
                    .fetch_one(&mut **tx)
                    .await?
            }
            Backend::Postgres(tx) => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT nextval(pg_get_serial_sequence('claims', 'id'))",
                )
                .fetch_one(&mut **tx)
                .await?
            }
        })
    }

    pub async fn insert_claim(&mut self, c: &Claim) -> Result<()> {
        let sql = format!(
            "INSERT INTO claims ({CLAIM}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        on_backend!(&mut self.tx, tx => { sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(c.id).bind(&c.room_id).bind(c.claimant.as_str()).bind(&c.event).bind(c.amount.cents()).bind(&c.description)
            .bind(c.state.code()).bind(c.verdict.map(Verdict::code)).bind(c.covered.map(Amount::cents)).bind(millis(c.opened))
            .bind(millis(c.closes)).bind(c.decided.map(millis))
            .execute(&mut **tx).await?; });
        Ok(())
    }

    /// Claim `#id`, its row locked on PostgreSQL.
    pub async fn claim_for_update(&mut self, id: ClaimId) -> Result<Option<Claim>> {
        let lock = if self.anonymous_params() { "" } else { " FOR UPDATE" };
        let sql = format!("SELECT {CLAIM} FROM claims WHERE id = $1{lock}");
        let row: Option<ClaimRow> = on_backend!(&mut self.tx, tx => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(&mut **tx).await?);
        row.map(claim).transpose()
    }

    /// Writes a decided claim back; only a claim still being voted on is decided (a second
    /// closing of the same window changes nothing): returns whether it was.
    pub async fn decide_claim(&mut self, c: &Claim) -> Result<bool> {
        const SQL: &str = "UPDATE claims SET state = $2, verdict = $3, covered_cents = $4, decided_ms = $5 WHERE id = $1 AND state = 'voting'";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL).bind(c.id).bind(c.state.code()).bind(c.verdict.map(Verdict::code))
            .bind(c.covered.map(Amount::cents)).bind(c.decided.map(millis)).execute(&mut **tx).await?.rows_affected());
        Ok(n == 1)
    }

    /// Records a ballot once per source event; `false` when that event was recorded before.
    pub async fn insert_ballot(&mut self, claim: ClaimId, b: &Ballot) -> Result<bool> {
        const SQL: &str = "INSERT INTO claim_ballots (source_event_id, claim_id, voter, vote, retracts, at_ms, seq) \
             SELECT $1, $2, $3, $4, $5, $6, COALESCE(MAX(seq), 0) + 1 FROM claim_ballots WHERE claim_id = $2 \
             ON CONFLICT (source_event_id) DO NOTHING";
        let n = on_backend!(&mut self.tx, tx => sqlx::query(SQL).bind(&b.source).bind(claim).bind(b.voter.as_str())
            .bind(b.vote.map(Vote::code)).bind(b.retracts.as_deref()).bind(millis(b.at)).execute(&mut **tx).await?.rows_affected());
        Ok(n == 1)
    }

    /// The claims whose vote window closed at or before `now`, oldest first.
    pub async fn claims_to_close(&mut self, now: DateTime<Utc>) -> Result<Vec<(ClaimId, String)>> {
        const SQL: &str = "SELECT id, room_id FROM claims WHERE state = 'voting' AND closes_ms <= $1 ORDER BY closes_ms, id";
        Ok(
            on_backend!(&mut self.tx, tx => sqlx::query_as(SQL).bind(millis(now)).fetch_all(&mut **tx).await?),
        )
    }

    /// SPEC §3.3: a member whose pool obligation is overdue is excluded from that pool (their
    /// pledge removed). Returns the pledges removed; a second run finds none.
    pub async fn exclude_overdue_pool_members(&mut self) -> Result<Vec<EndedPledge>> {
        const SQL: &str = "DELETE FROM pool_pledges WHERE EXISTS (SELECT 1 FROM ledger r WHERE r.room_id = pool_pledges.room_id \
             AND r.giver = pool_pledges.member AND r.kind = 'obligation' AND r.overdue AND r.state IN ('open', 'paid')) \
             RETURNING room_id, member, amount_cents, (SELECT name FROM pools p WHERE p.room_id = pool_pledges.room_id)";
        let rows: Vec<(String, String, i64, String)> =
            on_backend!(&mut self.tx, tx => sqlx::query_as(SQL).fetch_all(&mut **tx).await?);
        ended(rows)
    }

    /// The rollover into the cycle beginning at `cycle_start` (SPEC §4): pledges of pools that
    /// renew automatically carry into it; those of pools renewed by hand lapse (returned).
    pub async fn roll_pledges(
        &mut self,
        cycle_start: DateTime<Utc>,
    ) -> Result<(u64, Vec<EndedPledge>)> {
        const LAPSE: &str = "DELETE FROM pool_pledges WHERE cycle_ms < $1 AND room_id IN (SELECT room_id FROM pools WHERE renew = 'manual') \
             RETURNING room_id, member, amount_cents, (SELECT name FROM pools p WHERE p.room_id = pool_pledges.room_id)";
        const CARRY: &str = "UPDATE pool_pledges SET cycle_ms = $1 WHERE cycle_ms < $1";
        let start = millis(cycle_start);
        let (lapsed, carried): (Vec<(String, String, i64, String)>, u64) = on_backend!(&mut self.tx, tx => {
            let lapsed = sqlx::query_as(LAPSE).bind(start).fetch_all(&mut **tx).await?;
            let carried = sqlx::query(CARRY).bind(start).execute(&mut **tx).await?.rows_affected();
            (lapsed, carried)
        });
        Ok((carried, ended(lapsed)?))
    }
}

fn ended(rows: Vec<(String, String, i64, String)>) -> Result<Vec<EndedPledge>> {
    let mut out: Vec<EndedPledge> = rows
        .into_iter()
        .map(|(room_id, m, cents, name)| {
            Ok(EndedPledge {
                room_id,
                name,
                member: member(&m)?,
                pledge: Amount::from_stored_cents(cents),
            })
        })
        .collect::<Result<_>>()?;
    out.sort_by(|a, b| (&a.room_id, &a.member).cmp(&(&b.room_id, &b.member)));
    Ok(out)
}
