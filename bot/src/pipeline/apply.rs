//! Applying a decided command: every family's [`Outcome`] goes through [`Pipeline::apply`], in
//! the command's transaction. The effects are written in order (those with consequences read the
//! facts they need and let `exodus_commands::consequence` decide what follows), then the reply
//! is queued in the command's room, the private reply in the sender's DM and the notices.

use chrono::{DateTime, Utc};
use exodus_commands::clearing::setoff::ClearingWrite;
use exodus_commands::command::RecordAction;
use exodus_commands::consequence::{self, Consequences, StatusFacts};
use exodus_commands::initiative::days_left;
use exodus_commands::network::network_members;
use exodus_commands::outcome::{InitiativeReply, RecordDone, RecordNotice};
use exodus_commands::pool::PoolWrite;
use exodus_commands::text::Text;
use exodus_commands::{
    Command, CommandError, Effect, ErrorCode, MemberId, Need, Outcome, Profile, Reply,
};
use exodus_storage::{StoreError, Tag, Target, Tx};

use super::{Incoming, MAX_RELATED, Pipeline, Prefetched, Queue, RED_ALERT_EVERY, notice_content};
use crate::action::Action;
use exodus_commands::initiative::InitiativeWrite;
use exodus_commands::render::render_reply;

/// What a command is decided and applied with, besides the transaction.
pub(crate) struct Deciding<'a, 'e> {
    pub(crate) cmd: &'a Command,
    pub(crate) incoming: &'a Incoming<'e>,
    /// What was read from the homeserver before the transaction.
    pub(crate) pre: &'a Prefetched,
    /// The sender's profile as the transaction read it (locked).
    pub(crate) sender: &'a Profile,
    pub(crate) now: DateTime<Utc>,
}

/// What applying one effect came to.
enum Applied {
    Done,
    /// The database refused it (a room bound meanwhile): the command fails with this error.
    Refused(CommandError),
    /// It has consequences, applied after it.
    Then(Consequences),
}

impl Pipeline {
    /// Applies a decided command in its transaction; `false` when an effect was refused (the
    /// error is the reply).
    pub(crate) async fn apply(
        &self,
        tx: &mut Tx,
        queue: &mut Queue<'_>,
        d: &Deciding<'_, '_>,
        outcome: Outcome,
    ) -> Result<bool, StoreError> {
        let Outcome { mut effects, reply, private, mut notices } = outcome;
        let mut i = 0;
        while i < effects.len() {
            match self.apply_effect(tx, queue, d, &effects[i]).await? {
                Applied::Done => {}
                Applied::Refused(e) => {
                    self.queue_error(queue, d.incoming, d.cmd.name(), &e, d.sender);
                    return Ok(false);
                }
                Applied::Then(c) => {
                    effects.extend(c.effects);
                    notices.extend(c.notices);
                }
            }
            i += 1;
        }
        // The reply is in the sender's language as it is now (`lang` changes it, `forget-me`
        // forgets it).
        let lang = tx
            .find_profile(&d.incoming.sender, false)
            .await?
            .and_then(|p| p.lang)
            .unwrap_or(self.settings.default_language);
        let content = self.reply_content(d.cmd.name(), &reply, lang, d.incoming);
        queue.push(
            Target::Room(d.incoming.event.room_id.clone()),
            "m.room.message",
            content,
            reply_tag(&reply),
        );
        if let Some(private) = &private {
            let rendered = render_reply(d.cmd.name(), private, &self.style(lang));
            queue.push(
                Target::Dm(d.incoming.sender.clone()),
                "m.room.message",
                notice_content(&rendered, None),
                None,
            );
        }
        self.queue_notices(tx, queue, d.cmd.name(), &notices).await?;
        Ok(true)
    }

    async fn apply_effect(
        &self,
        tx: &mut Tx,
        queue: &mut Queue<'_>,
        d: &Deciding<'_, '_>,
        effect: &Effect,
    ) -> Result<Applied, StoreError> {
        let now = d.now;
        match effect {
            Effect::SaveProfile(after) => {
                let before = tx
                    .find_profile(&after.member, false)
                    .await?
                    .unwrap_or_else(|| Profile::new(after.member.clone()));
                tx.save_profile(&before, after, now).await?;
            }
            Effect::StatusChanged { member, before, after } => {
                let facts = self.status_facts(tx, d, member, before, after).await?;
                return Ok(Applied::Then(consequence::status_changed(member, after, &facts, now)));
            }
            Effect::Forget(member) => {
                let intentions = tx.active_intentions_for(member).await?;
                tx.erase_member(member).await?;
                return Ok(Applied::Then(consequence::forgotten(&intentions, now)));
            }
            Effect::BindCircle { owner, room_id } => {
                if !tx.bind_circle(owner, room_id, now).await? {
                    let e =
                        CommandError::new(ErrorCode::InvalidState, Text::new("err-circle-exists"));
                    return Ok(Applied::Refused(e.with_usage("circle")));
                }
            }
            Effect::InsertRecord(r) => tx.insert_record(r).await?,
            Effect::UpdateRecord(r) => tx.update_record(r).await?,
            Effect::Pool(write) => {
                let cycle_start = self.cycle_start(now);
                match write {
                    PoolWrite::Create { room_id, name, created_by, rules } => {
                        if !tx.create_pool(room_id, name, created_by, rules, now).await? {
                            let e = CommandError::new(
                                ErrorCode::InvalidState,
                                Text::new("err-room-is-a-pool"),
                            );
                            return Ok(Applied::Refused(e.with_usage("pool")));
                        }
                    }
                    PoolWrite::SetRules { room_id, rules } => {
                        tx.set_pool_rules(room_id, rules).await?
                    }
                    PoolWrite::SetPledge { room_id, member, amount } => {
                        tx.set_pledge(room_id, member, *amount, cycle_start, now).await?
                    }
                    PoolWrite::OpenClaim(c) => tx.insert_claim(c).await?,
                    PoolWrite::Ballot { claim, ballot } => {
                        tx.insert_ballot(*claim, ballot).await?;
                    }
                }
            }
            Effect::Initiative(write) => match write {
                InitiativeWrite::Create(i) => {
                    tx.create_initiative(i, days_left(i.deadline, now)).await?
                }
                InitiativeWrite::InsertBacking { initiative, record } => {
                    tx.insert_backing(*initiative, record).await?
                }
                InitiativeWrite::UpdateRecord(r) => tx.update_record(r).await?,
                InitiativeWrite::Save(i) => tx.save_initiative(i).await?,
            },
            Effect::Clearing(write) => match write {
                ClearingWrite::OptIn { member, on } => tx.set_clearing(member, *on, now).await?,
                ClearingWrite::Keep { id, member, keep } => {
                    tx.set_kept(*id, member, *keep, now).await?
                }
            },
            Effect::CreateCircleRoom { owner } => {
                let name = format!("Circle of {owner}");
                queue.push_action(
                    Target::Dm(owner.clone()),
                    Action::CreateCircle { owner: owner.clone(), name },
                );
            }
            Effect::Invite { room_id, member } => {
                queue.push_action(
                    Target::Room(room_id.clone()),
                    Action::Invite { user_id: member.clone() },
                );
            }
            Effect::EditCard(view) => self.queue_card(tx, queue, view, now).await?,
            Effect::RefreshCard(initiative) => {
                self.backing_changed(tx, queue, *initiative, now).await?
            }
        }
        Ok(Applied::Done)
    }

    /// What a status change is decided on, read after the new status was saved: going green, the
    /// intentions to cancel; orange and red, the circle's figures and members, and the network
    /// when a red collection starts (told once, and not again within a day however often the
    /// status goes red).
    async fn status_facts(
        &self,
        tx: &mut Tx,
        d: &Deciding<'_, '_>,
        member: &MemberId,
        before: &Need,
        after: &Need,
    ) -> Result<StatusFacts, StoreError> {
        if matches!(after, Need::Green) {
            let intentions_for = tx.active_intentions_for(member).await?;
            return Ok(StatusFacts { intentions_for, ..Default::default() });
        }
        let profile =
            tx.find_profile(member, false).await?.unwrap_or_else(|| Profile::new(member.clone()));
        let facts = self.ledger_facts(tx, &profile, d.now).await?;
        let mut network = Vec::new();
        let key = format!("red:{member}");
        if consequence::alerts_network(before, after)
            && self.cooldowns.wait(&key, RED_ALERT_EVERY, d.now).is_none()
        {
            self.cooldowns.used(key, RED_ALERT_EVERY, d.now);
            // The network as this transaction sees it (after any cancellation before it).
            let supports =
                tx.network_supports(member, self.support_since(d.now), MAX_RELATED).await?;
            network = network_members(member, &supports).into_iter().collect();
        }
        Ok(StatusFacts {
            intentions_for: Vec::new(),
            circle: facts.circle,
            supporters: facts.supporters,
            circle_room: tx.circle_room_of(member).await?,
            // Only the sender changes their status: the prefetch read their circle's members.
            circle_members: if member == &d.incoming.sender {
                d.pre.own_circle_members.clone()
            } else {
                Vec::new()
            },
            network,
        })
    }
}

/// The tag of a message the bot must find again: the `paid` reply and the recipient's notice
/// about it (a 👍 on them confirms, SPEC §3), a claim members vote on by reacting, an
/// initiative's card (edited, and 👍 on it is interest).
pub(crate) fn reply_tag(reply: &Reply) -> Option<Tag> {
    match reply {
        Reply::Record { done: RecordDone::Action(RecordAction::Paid), record, .. }
        | Reply::Noticed { what: RecordNotice::PaidReported, record } => Some(Tag::Paid(record.id)),
        Reply::Claim { view, ballot: None } => Some(Tag::Claim(view.claim.id)),
        Reply::Initiative { kind: InitiativeReply::Proposed, view, .. } => {
            Some(Tag::Initiative(view.initiative.id))
        }
        _ => None,
    }
}
