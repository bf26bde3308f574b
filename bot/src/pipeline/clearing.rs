//! Clearing in the pipeline (SPEC §3.5): `clearing [on|off]`, `keep #N`, `unkeep #N` in the
//! command's transaction; a run (the monthly job, `admin run clearing`, `admin clearing run`)
//! in one transaction of its own: the eligible obligations read and locked, the optimal set-off
//! computed over them, applied, recorded, and one DM per party with the changes to their own
//! obligations only (V1), all or nothing. A second run finds nothing more to set off (the first
//! one's was the most there was), so it changes and sends nothing.

use chrono::{DateTime, Utc};
use exodus_commands::clearing::setoff::{self, ClearingFacts, Plan};
use exodus_commands::command::ClearingCommand;
use exodus_commands::cycle::JobReport;
use exodus_commands::render::render_reply;
use exodus_commands::text::Text;
use exodus_commands::{Command, CommandError, ErrorCode, MemberId, Reply};
use exodus_storage::{StoreError, Tx};

use super::apply::Deciding;
use crate::pipeline::{Pipeline, notice_content};

/// What a run found and did.
#[derive(Debug)]
pub struct ClearingOutcome {
    pub plan: Plan,
    /// The run's number, when it was applied and set something off.
    pub run: Option<i64>,
    /// DMs written to the outbox.
    pub messages: u64,
}

impl ClearingOutcome {
    pub fn report(&self) -> JobReport {
        let changed = self.plan.changes.len() as u64;
        let cleared = u64::try_from(self.plan.cleared.cents()).unwrap_or(0);
        JobReport {
            counts: vec![
                ("eligible", self.plan.eligible),
                ("obligations_changed", changed),
                ("cleared_cents", cleared),
            ],
            messages: self.messages,
        }
    }

    /// `admin clearing preview|run`, `admin run clearing`.
    pub fn reply(&self, applied: bool) -> Reply {
        let p = &self.plan;
        Reply::ClearingTotals {
            applied,
            eligible: p.eligible,
            total: p.total,
            cleared: p.cleared,
            bound: p.bound,
            changed: p.changes.len() as u64,
        }
    }
}

impl Pipeline {
    /// A clearing run as of `as_of`; with `apply` false only its figures (nothing is written).
    pub async fn clearing(
        &self,
        as_of: DateTime<Utc>,
        apply: bool,
    ) -> Result<ClearingOutcome, StoreError> {
        let mut tx = self.store().begin().await?;
        let eligible = tx.eligible_obligations().await?;
        let mut plan =
            setoff::plan(&eligible).map_err(|e| StoreError::Corrupt(format!("clearing: {e}")))?;
        if !apply {
            tx.rollback().await?;
            return Ok(ClearingOutcome { plan, run: None, messages: 0 });
        }
        let run = tx.apply_clearing(&mut plan, as_of, Utc::now()).await?;
        let messages = match run {
            Some(run) => self.queue_clearing_digests(&mut tx, run, &plan, as_of).await?,
            None => 0,
        };
        tx.commit().await?;
        Ok(ClearingOutcome { plan, run, messages })
    }

    /// The scheduled job (SPEC §4: monthly, by default on the 25th).
    pub async fn run_clearing(&self, as_of: DateTime<Utc>) -> Result<JobReport, StoreError> {
        Ok(self.clearing(as_of, true).await?.report())
    }

    /// One DM per party of the run's changes, in their language, none for members with
    /// notifications off; identified by the run and the member.
    async fn queue_clearing_digests(
        &self,
        tx: &mut Tx,
        run: i64,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let source = format!("clearing\u{0}run\u{0}{run}");
        let rendered = |_: &MemberId, items, lang| {
            let reply = Reply::ClearingDigest { items };
            (
                "m.room.message".to_owned(),
                notice_content(&render_reply("notice", &reply, &self.style(lang)), None)
                    .to_string(),
            )
        };
        self.queue_per_member(tx, &source, setoff::digests(&plan.changes), rendered, now).await
    }

    /// Decides `clearing [on|off]`, `keep #N`, `unkeep #N` (SPEC §3.5) on the sender's opt-in
    /// and the named obligation's keepers, read in the command's transaction.
    pub(crate) async fn decide_clearing(
        &self,
        tx: &mut Tx,
        d: &Deciding<'_, '_>,
    ) -> Result<Result<exodus_commands::Outcome, CommandError>, StoreError> {
        let incoming = d.incoming;
        let Command::Clearing(cmd) = d.cmd else {
            let text = Text::new("err-internal").arg("id", "not-a-clearing-command");
            return Ok(Err(CommandError::new(ErrorCode::Internal, text)));
        };
        let opted_in = tx.clearing_opted_in(&incoming.sender).await?;
        let (record, keepers) = match cmd {
            ClearingCommand::Keep { id, .. } => {
                (tx.record_for_update(*id).await?, tx.keepers(*id).await?)
            }
            _ => (None, Vec::new()),
        };
        let last = match cmd {
            ClearingCommand::Show if incoming.in_dm => tx.last_clearing(&incoming.sender).await?,
            _ => None,
        };
        let facts = ClearingFacts {
            sender: &incoming.sender,
            in_dm: incoming.in_dm,
            room_id: &incoming.event.room_id,
            opted_in,
            record: record.as_ref(),
            kept_by_sender: keepers.contains(&incoming.sender),
            kept_by_other: keepers.iter().any(|k| k != &incoming.sender),
        };
        Ok(setoff::decide_clearing(cmd, &facts, last))
    }
}
