//! Pools in the pipeline (SPEC §3.3, V2, V3): the pool commands, votes by reaction and their
//! retraction by redaction, and the pool work of the scheduled jobs (closing vote windows,
//! excluding members whose pool obligation is overdue, pledges carried or lapsed at rollover).

use chrono::{DateTime, Utc};
use exodus_commands::Code;
use exodus_commands::command::PoolCommand;
use exodus_commands::outcome::{Notice, PledgeEnded, Target as NoticeTarget};
use exodus_commands::pool::{self, Ballot, ClaimId, ClaimState, PoolRoom, PoolWorld, close_claim};
use exodus_commands::{Command, CommandError, MemberId, Reply};
use exodus_storage::{Cursor, EndedPledge, EventRef, OutboxMessage, Outcome, StoreError, Tx};

use super::apply::Deciding;
use crate::pipeline::{Incoming, Pipeline, Prefetched, Queue, Rooms, joined_now};

/// What the jobs did to pools, for their reports.
#[derive(Debug, Default)]
pub(crate) struct PoolWork {
    pub(crate) messages: Vec<OutboxMessage>,
    pub(crate) counts: Vec<(&'static str, u64)>,
}

impl Pipeline {
    /// The homeserver facts a pool command is decided on, read before its transaction: the pool's
    /// room (the claim's for `vote`), whether the sender is joined to it now (V2), and for
    /// `pool create` / `pool rule` the sender's power and whether the room is readable without
    /// joining (V9).
    pub(crate) async fn prefetch_pool<R: Rooms>(
        &self,
        cmd: &Command,
        incoming: &Incoming<'_>,
        rooms: &R,
    ) -> Result<Prefetched, StoreError> {
        let mut pre = Prefetched::default();
        let room_id = &incoming.event.room_id;
        pre.room = match cmd {
            Command::Vote { id, .. } => self.store().claim_room(*id).await?,
            _ => Some(room_id.clone()),
        };
        pre.joined = joined_now(pre.room.as_deref(), incoming, rooms).await;
        if matches!(cmd, Command::Pool(PoolCommand::Create { .. } | PoolCommand::Rule { .. }))
            && !incoming.in_dm
        {
            pre.sender_power = rooms.power_level(room_id, &incoming.sender).await.unwrap_or(0);
            // Unknown counts as readable: a pool is not bound where that cannot be ruled out.
            pre.world_readable = rooms.world_readable(room_id).await.unwrap_or(true);
        }
        Ok(pre)
    }

    /// Decides a pool command (SPEC §3.3) on the pool (the claim's for `vote`), read in the
    /// command's transaction. The reply to `claim` is the claim message members vote on: it is
    /// tagged `claim:<id>`, so that a 👍 or 👎 on it is known for a vote once it is sent.
    pub(crate) async fn decide_pool(
        &self,
        tx: &mut Tx,
        d: &Deciding<'_, '_>,
    ) -> Result<Result<exodus_commands::Outcome, CommandError>, StoreError> {
        let (cmd, incoming, pre, now) = (d.cmd, d.incoming, d.pre, d.now);
        let cycle_start = self.cycle_start(now);
        let claim = match cmd {
            Command::Vote { id, .. } => tx.claim_for_update(*id).await?,
            _ => None,
        };
        let pool_room =
            claim.as_ref().map_or_else(|| incoming.event.room_id.clone(), |c| c.room_id.clone());
        let pool = tx.pool(&pool_room, cycle_start).await?;
        let room = PoolRoom {
            room_id: incoming.event.room_id.clone(),
            in_dm: incoming.in_dm,
            sender_power: pre.sender_power,
            world_readable: pre.world_readable,
            is_circle: tx.circle_owner_of(&incoming.event.room_id).await?.is_some(),
            has_initiatives: matches!(cmd, Command::Pool(PoolCommand::Create { .. }))
                && !incoming.in_dm
                && tx.has_initiatives(&incoming.event.room_id).await?,
        };
        let next_claim_id =
            if matches!(cmd, Command::Claim { .. }) { tx.next_claim_id().await? } else { 0 };
        // The prefetched membership is about this pool only if it is the same room.
        let joined = pre.joined && pre.room.as_deref() == Some(pool_room.as_str());
        let world = PoolWorld {
            sender: &incoming.sender,
            now,
            sent_at: DateTime::from_timestamp_millis(incoming.event.origin_ts).unwrap_or(now),
            event_id: &incoming.event.event_id,
            room: &room,
            pool: pool.as_ref(),
            joined,
            claim: claim.as_ref(),
            next_claim_id,
        };
        Ok(pool::decide_pool(cmd, &world))
    }

    /// `sender` redacted `redacts`, the event that cast `voter`'s vote on claim `claim` (V3):
    /// while the window is open, the vote is retracted if it is still the voter's latest (the
    /// tally decides that). Exactly once per redaction event; nothing is said.
    pub async fn vote_redacted(
        &self,
        event: &EventRef,
        sender: &MemberId,
        claim: ClaimId,
        voter: &MemberId,
        redacts: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store().begin().await?;
        if !tx.claim_event(event, Outcome::Applied, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.set_cursor(
            &event.room_id,
            &Cursor { event_id: event.event_id.clone(), origin_ts: event.origin_ts },
            now,
        )
        .await?;
        if let Some(c) = tx.claim_for_update(claim).await?
            && c.state == ClaimState::Voting
            && c.room_id == event.room_id
        {
            let at = DateTime::from_timestamp_millis(event.origin_ts).unwrap_or(now);
            let ballot = Ballot {
                voter: voter.clone(),
                vote: None,
                source: event.event_id.clone(),
                retracts: Some(redacts.to_owned()),
                at,
            };
            tx.insert_ballot(claim, &ballot).await?;
            tracing::info!(claim, %voter, %sender, "a vote's reaction was redacted");
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The deadlines job's pool work (SPEC §3.3, §4), in its transaction: every vote window
    /// closed at `as_of` is decided (quorum and approval; an approved claim's contributions
    /// become obligations to the claimant, due in `pay_days`), announced in the pool's room and
    /// to the claimant and each member charged; then members with an overdue pool obligation
    /// are excluded. A second run finds nothing more to do.
    pub(crate) async fn pool_deadlines(
        &self,
        tx: &mut Tx,
        as_of: DateTime<Utc>,
    ) -> Result<PoolWork, StoreError> {
        let cycle_start = self.cycle_start(as_of);
        let mut work = PoolWork::default();
        let (mut closed, mut approved, mut obligations) = (0, 0, 0);
        for (id, room) in tx.claims_to_close(as_of).await? {
            let (Some(claim), Some(pool)) =
                (tx.claim_for_update(id).await?, tx.pool(&room, cycle_start).await?)
            else {
                continue;
            };
            let ballots = pool
                .voting
                .iter()
                .find(|(c, _)| c.id == id)
                .map(|(_, b)| b.clone())
                .unwrap_or_default();
            let mut closing = close_claim(&claim, &ballots, &pool, as_of);
            if !tx.decide_claim(&closing.claim).await? {
                continue;
            }
            closed += 1;
            if closing.claim.state == ClaimState::Approved {
                approved += 1;
            }
            for record in &mut closing.obligations {
                record.id = tx.next_record_id().await?;
                tx.insert_record(record).await?;
                obligations += 1;
            }
            let source = EventRef {
                event_id: format!("claim-decided\u{0}{id}"),
                room_id: room.clone(),
                origin_ts: 0,
            };
            work.messages.extend(self.notices_for(tx, &source, "claim", &closing.notices()).await?);
        }
        let excluded = self.exclude_overdue(tx, as_of).await?;
        work.messages.extend(excluded.messages);
        work.counts = vec![
            ("claims_closed", closed),
            ("claims_approved", approved),
            ("pool_obligations", obligations),
        ];
        work.counts.extend(excluded.counts);
        Ok(work)
    }

    /// SPEC §3.3: a member whose pool obligation is overdue is excluded from the pool (their
    /// pledge removed), announced in the room and to them.
    pub(crate) async fn exclude_overdue(
        &self,
        tx: &mut Tx,
        as_of: DateTime<Utc>,
    ) -> Result<PoolWork, StoreError> {
        let excluded = tx.exclude_overdue_pool_members().await?;
        let count = excluded.len() as u64;
        let messages = self.ended_pledges(tx, PledgeEnded::Excluded, &excluded, as_of).await?;
        Ok(PoolWork { messages, counts: vec![("pool_members_excluded", count)] })
    }

    /// The rollover's pool work (SPEC §4): pledges of pools renewing automatically carry into
    /// the new cycle, those of pools renewed by hand lapse (announced in the room and to the
    /// member); members with an overdue pool obligation are excluded.
    pub(crate) async fn pool_rollover(
        &self,
        tx: &mut Tx,
        cycle_start: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Result<PoolWork, StoreError> {
        let (carried, lapsed) = tx.roll_pledges(cycle_start).await?;
        let mut messages = self.ended_pledges(tx, PledgeEnded::Lapsed, &lapsed, as_of).await?;
        let excluded = self.exclude_overdue(tx, as_of).await?;
        messages.extend(excluded.messages);
        let mut counts =
            vec![("pledges_carried", carried), ("pledges_lapsed", lapsed.len() as u64)];
        counts.extend(excluded.counts);
        Ok(PoolWork { messages, counts })
    }

    /// A member left a pool's room (V2, V3): their pledge ends; the room is told.
    pub(crate) async fn pool_member_left(
        &self,
        tx: &mut Tx,
        queue: &mut Queue<'_>,
        room_id: &str,
        member: &MemberId,
    ) -> Result<(), StoreError> {
        if let Some(ended) = tx.end_pledge(room_id, member).await? {
            let reply = Reply::PoolLeft {
                name: ended.name,
                member: ended.member,
                pledge: ended.pledge,
                why: PledgeEnded::LeftRoom,
            };
            self.queue_notices(
                tx,
                queue,
                "pool",
                &[Notice { target: NoticeTarget::Room(room_id.to_owned()), reply }],
            )
            .await?;
        }
        Ok(())
    }

    async fn ended_pledges(
        &self,
        tx: &mut Tx,
        why: PledgeEnded,
        ended: &[EndedPledge],
        as_of: DateTime<Utc>,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut messages = Vec::new();
        for e in ended {
            let reply = Reply::PoolLeft {
                name: e.name.clone(),
                member: e.member.clone(),
                pledge: e.pledge,
                why,
            };
            let notices = [
                Notice { target: NoticeTarget::Room(e.room_id.clone()), reply: reply.clone() },
                Notice { target: NoticeTarget::Member(e.member.clone()), reply },
            ];
            let source = EventRef {
                event_id: format!(
                    "pool-{}\u{0}{}\u{0}{}\u{0}{}",
                    why.code(),
                    e.room_id,
                    e.member,
                    as_of.timestamp_millis()
                ),
                room_id: e.room_id.clone(),
                origin_ts: 0,
            };
            messages.extend(self.notices_for(tx, &source, "pool", &notices).await?);
        }
        Ok(messages)
    }

    /// Notifications caused by a job rather than a command event: their transaction IDs derive
    /// from `source`, so that deciding the same thing again sends nothing more.
    async fn notices_for(
        &self,
        tx: &mut Tx,
        source: &EventRef,
        command: &str,
        notices: &[Notice],
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let mut queue = Queue { event: source, next: 0, messages: Vec::new() };
        self.queue_notices(tx, &mut queue, command, notices).await?;
        Ok(queue.messages)
    }
}
