//! Initiatives in the pipeline (SPEC §3.4, V1, V2): the initiative commands, the card message the
//! bot keeps up to date by editing it, 👍 on the card as non-binding interest (retracted by
//! redacting the reaction), backings withdrawn when their author leaves the room, and the
//! deadlines job's lapses and day counts.

use chrono::{DateTime, Utc};
use exodus_commands::initiative::{
    self, InitiativeId, InitiativeRoom, InitiativeState, InitiativeView, InitiativeWorld,
    InitiativeWrite, Settlement, days_left, lapse,
};
use exodus_commands::ledger;
use exodus_commands::outcome::{InitiativeNotice, InitiativeReply, Notice, Target as NoticeTarget};
use exodus_commands::render::render_reply;
use exodus_commands::{Command, CommandError, MemberId, Profile, Reply};
use exodus_storage::{Cursor, EventRef, Outcome, StoreError, Tag, Target, Tx};

use super::apply::Deciding;
use crate::action::Action;
use crate::pipeline::{Incoming, Pipeline, Prefetched, Queue, Rooms, joined_now, notice_content};
use crate::pools::PoolWork;

/// The outbox tag of an initiative's card.
pub fn card_tag(id: InitiativeId) -> Tag {
    Tag::Initiative(id)
}

impl Pipeline {
    /// The homeserver facts an initiative command is decided on, before its transaction: the
    /// initiative's room (the command's for `propose` and `initiatives`) and whether the sender is
    /// joined to it now (V1, V2).
    pub(crate) async fn prefetch_initiative<R: Rooms>(
        &self,
        cmd: &Command,
        incoming: &Incoming<'_>,
        rooms: &R,
    ) -> Result<Prefetched, StoreError> {
        let mut pre = Prefetched::default();
        let room_id = &incoming.event.room_id;
        pre.room = match cmd.initiative_id() {
            Some(id) => self.store().initiative_room(id).await?,
            None => Some(room_id.clone()),
        };
        pre.joined = joined_now(pre.room.as_deref(), incoming, rooms).await;
        Ok(pre)
    }

    /// Decides an initiative command (SPEC §3.4) on the initiative it names, read (locked) in the
    /// command's transaction. The reply to `propose` is the initiative's card, tagged so that
    /// later edits and 👍 reactions find it.
    pub(crate) async fn decide_initiative(
        &self,
        tx: &mut Tx,
        d: &Deciding<'_, '_>,
    ) -> Result<Result<exodus_commands::Outcome, CommandError>, StoreError> {
        let (cmd, incoming, pre, now) = (d.cmd, d.incoming, d.pre, d.now);
        let named = match cmd.initiative_id() {
            Some(id) => tx.initiative_for_update(id).await?.map(|(facts, _)| facts),
            None => None,
        };
        let listed = if matches!(cmd, Command::Initiatives) {
            tx.room_initiatives(&incoming.event.room_id).await?
        } else {
            Vec::new()
        };
        let room = InitiativeRoom {
            room_id: incoming.event.room_id.clone(),
            in_dm: incoming.in_dm,
            is_circle: tx.circle_owner_of(&incoming.event.room_id).await?.is_some(),
            is_pool: tx.is_pool_room(&incoming.event.room_id).await?,
        };
        let initiative_room = named
            .as_ref()
            .map_or_else(|| incoming.event.room_id.clone(), |f| f.initiative.room_id.clone());
        // The prefetched membership is about this initiative only if it is the same room.
        let joined = pre.joined && pre.room.as_deref() == Some(initiative_room.as_str());
        let next_initiative_id =
            if matches!(cmd, Command::Propose { .. }) { tx.next_initiative_id().await? } else { 0 };
        let next_record_id =
            if matches!(cmd, Command::Back { .. }) { tx.next_record_id().await? } else { 0 };
        let world = InitiativeWorld {
            sender: &incoming.sender,
            now,
            room: &room,
            initiative: named.as_ref(),
            joined,
            listed: &listed,
            next_initiative_id,
            next_record_id,
        };
        Ok(initiative::decide_initiative(cmd, &world))
    }

    async fn apply_initiative_writes(
        &self,
        tx: &mut Tx,
        writes: &[InitiativeWrite],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for write in writes {
            match write {
                InitiativeWrite::Create(i) => {
                    tx.create_initiative(i, days_left(i.deadline, now)).await?
                }
                InitiativeWrite::InsertBacking { initiative, record } => {
                    tx.insert_backing(*initiative, record).await?
                }
                InitiativeWrite::UpdateRecord(r) => tx.update_record(r).await?,
                InitiativeWrite::Save(i) => tx.save_initiative(i).await?,
            }
        }
        Ok(())
    }

    /// Queues an edit of the initiative's card to show `view` (in its proposer's language), and
    /// remembers the days left it shows.
    pub(crate) async fn queue_card(
        &self,
        tx: &mut Tx,
        queue: &mut Queue<'_>,
        view: &InitiativeView,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let i = &view.initiative;
        let proposer = tx
            .find_profile(&i.proposer, false)
            .await?
            .unwrap_or_else(|| Profile::new(i.proposer.clone()));
        let lang = proposer.lang.unwrap_or(self.settings().default_language);
        let reply = Reply::Initiative {
            kind: InitiativeReply::Proposed,
            view: view.clone(),
            backing: None,
        };
        let rendered = render_reply("propose", &reply, &self.style(lang));
        // The outbox finds the card's event ID when it sends the edit (the card may not be sent
        // yet when the edit is written).
        let edit =
            Action::Edit { tag: card_tag(i.id), new_content: notice_content(&rendered, None) };
        queue.push_action(Target::Room(i.room_id.clone()), edit);
        tx.set_card_days(i.id, view.days_left).await?;
        Ok(())
    }

    /// The card of the initiative record `#id` backs, after a ledger command changed the record
    /// (a backing withdrawn; a funded obligation paid or confirmed changes nothing it shows).
    pub(crate) async fn backing_changed(
        &self,
        tx: &mut Tx,
        queue: &mut Queue<'_>,
        initiative: InitiativeId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some((facts, _)) = tx.initiative_for_update(initiative).await?
            && facts.initiative.state == InitiativeState::Active
        {
            self.queue_card(tx, queue, &facts.view(now), now).await?;
        }
        Ok(())
    }

    /// A 👍 on an initiative's card (`up`), or the redaction of one: non-binding interest, counted
    /// once per member joined to the room while the initiative is active; the card shows the
    /// count. Exactly once per event; nothing is said.
    pub async fn initiative_interest(
        &self,
        event: &EventRef,
        sender: &MemberId,
        change: Interest<'_>,
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
        let changed = match change {
            Interest::Shown { initiative, sender_joined } => {
                let active = tx.initiative_for_update(initiative).await?.is_some_and(|(f, _)| {
                    f.initiative.state == InitiativeState::Active
                        && f.initiative.room_id == event.room_id
                });
                let at = DateTime::from_timestamp_millis(event.origin_ts).unwrap_or(now);
                (sender_joined
                    && active
                    && tx.add_interest(initiative, sender, &event.event_id, at).await?)
                    .then_some(initiative)
            }
            Interest::Withdrawn { redacts } => tx.remove_interest(redacts).await?,
        };
        let mut queue = Queue { event, next: 0, messages: Vec::new() };
        if let Some(id) = changed {
            tracing::info!(initiative = id, %sender, "interest in an initiative changed");
            self.backing_changed(&mut tx, &mut queue, id, now).await?;
        }
        tx.enqueue_all(&queue.messages, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The deadlines job's initiative work (SPEC §3.4, §4), in its transaction: an initiative
    /// whose deadline passed unfunded lapses (its backings cancelled; each backer, the proposer
    /// and the room told; the card edited); the card of every other active one is edited when the
    /// days left it shows changed. A second run finds nothing more to do.
    pub(crate) async fn initiative_deadlines(
        &self,
        tx: &mut Tx,
        as_of: DateTime<Utc>,
    ) -> Result<PoolWork, StoreError> {
        let mut work = PoolWork::default();
        let (mut lapsed, mut refreshed) = (0, 0);
        for (id, deadline, shown) in tx.active_initiatives().await? {
            let days = days_left(deadline, as_of);
            if deadline > as_of && days == shown {
                continue;
            }
            let Some((facts, _)) = tx.initiative_for_update(id).await? else { continue };
            let source = EventRef {
                event_id: format!("initiative\u{0}{id}\u{0}{days}"),
                room_id: facts.initiative.room_id.clone(),
                origin_ts: 0,
            };
            let mut queue = Queue { event: &source, next: 0, messages: Vec::new() };
            match lapse(&facts, as_of) {
                Some(Settlement { facts: after, writes, notices }) => {
                    self.apply_initiative_writes(tx, &writes, as_of).await?;
                    self.queue_card(tx, &mut queue, &after.view(as_of), as_of).await?;
                    self.queue_notices(tx, &mut queue, "initiative", &notices).await?;
                    lapsed += 1;
                }
                None => {
                    self.queue_card(tx, &mut queue, &facts.view(as_of), as_of).await?;
                    refreshed += 1;
                }
            }
            work.messages.extend(queue.messages);
        }
        work.counts =
            vec![("initiatives_lapsed", lapsed), ("initiative_cards_refreshed", refreshed)];
        Ok(work)
    }

    /// A member left a room with initiatives (V2): their active backings there are withdrawn,
    /// announced in the room and to each proposer, and the cards edited.
    pub(crate) async fn initiative_member_left(
        &self,
        tx: &mut Tx,
        queue: &mut Queue<'_>,
        room_id: &str,
        member: &MemberId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !tx.has_initiatives(room_id).await? {
            return Ok(());
        }
        for record in tx.active_backings_by(member, room_id).await? {
            let Some(initiative) = tx.record_initiative(record.id).await? else { continue };
            let withdrawn = ledger::withdrawn_on_leaving(&record, now);
            tx.update_record(&withdrawn).await?;
            let Some((facts, _)) = tx.initiative_for_update(initiative).await? else { continue };
            let view = facts.view(now);
            let reply = Reply::InitiativeNoticed {
                what: InitiativeNotice::Left,
                view: view.clone(),
                record: Some(withdrawn),
            };
            let notices = [
                Notice { target: NoticeTarget::Room(room_id.to_owned()), reply: reply.clone() },
                Notice { target: NoticeTarget::Member(facts.initiative.proposer.clone()), reply },
            ];
            self.queue_notices(tx, queue, "initiative", &notices).await?;
            self.queue_card(tx, queue, &view, now).await?;
        }
        Ok(())
    }
}

/// What a reaction on a card did.
#[derive(Clone, Copy, Debug)]
pub enum Interest<'a> {
    /// 👍 on the card of `initiative`.
    Shown { initiative: InitiativeId, sender_joined: bool },
    /// The reaction event `redacts` was redacted.
    Withdrawn { redacts: &'a str },
}
