//! Profiles: the `members` and `payment_methods` tables.

use chrono::{DateTime, Utc};
use exodus_commands::profile::{Level, PaymentMethod, Settled};
use exodus_commands::{Amount, Lang, MemberId, Need, Profile};
use sqlx::Row;

use crate::{Backend, Result, StoreError, Tx, from_millis, millis, on_backend};

/// A member with their payment methods, one row per method (one row with NULL method columns when
/// there is none): one round trip for the whole profile.
const SELECT_MEMBER: &str = "SELECT m.status, m.requested_cents, m.deadline_ms, m.note, m.prev_status, m.prev_requested_cents, \
     m.prev_note, m.about, m.lang, m.notify, m.forget_requested_ms, p.label, p.details, p.is_default \
     FROM members m LEFT JOIN payment_methods p ON p.user_id = m.user_id WHERE m.user_id = $1 ORDER BY p.label";
const SELECT_MEMBER_FOR_UPDATE: &str = "SELECT m.status, m.requested_cents, m.deadline_ms, m.note, m.prev_status, \
     m.prev_requested_cents, m.prev_note, m.about, m.lang, m.notify, m.forget_requested_ms, p.label, p.details, p.is_default \
     FROM members m LEFT JOIN payment_methods p ON p.user_id = m.user_id WHERE m.user_id = $1 ORDER BY p.label FOR UPDATE OF m";

/// The `members` columns of one profile, as stored.
struct Columns {
    status: String,
    requested: Option<i64>,
    deadline: Option<i64>,
    note: Option<String>,
    prev_status: Option<String>,
    prev_requested: Option<i64>,
    prev_note: Option<String>,
    about: Option<String>,
    lang: Option<String>,
    notify: bool,
    forget_requested: Option<i64>,
}

fn amount(cents: Option<i64>, what: &str) -> Result<Amount> {
    cents.map(Amount::from_stored_cents).ok_or_else(|| StoreError::Corrupt(format!("{what} without an amount")))
}

impl Columns {
    fn into_profile(self, member: MemberId, payment: Vec<PaymentMethod>) -> Result<Profile> {
        let level = Level::from_code(&self.status).ok_or_else(|| StoreError::Corrupt(format!("status {}", self.status)))?;
        let need = match level {
            Level::Green => Need::Green,
            Level::Orange => Need::Orange { requested: amount(self.requested, "orange")?, note: self.note },
            Level::Red => Need::Red {
                requested: amount(self.requested, "red")?,
                deadline: from_millis(self.deadline.ok_or_else(|| StoreError::Corrupt("red without deadline".into()))?)?,
                note: self.note,
                previous: match self.prev_status.as_deref() {
                    Some("orange") => Settled::Orange { requested: amount(self.prev_requested, "previous orange")?, note: self.prev_note },
                    _ => Settled::Green,
                },
            },
        };
        Ok(Profile {
            member,
            need,
            about: self.about,
            lang: self.lang.as_deref().and_then(Lang::from_code),
            notify: self.notify,
            payment,
            forget_requested_at: self.forget_requested.map(from_millis).transpose()?,
        })
    }

    fn from_profile(p: &Profile) -> Columns {
        let (prev_status, prev_requested, prev_note) = match &p.need {
            Need::Red { previous: Settled::Green, .. } => (Some("green"), None, None),
            Need::Red { previous: Settled::Orange { requested, note }, .. } => (Some("orange"), Some(requested.cents()), note.clone()),
            _ => (None, None, None),
        };
        Columns {
            status: p.need.level().code().to_owned(),
            requested: p.need.requested().map(Amount::cents),
            deadline: p.need.deadline().map(millis),
            note: p.need.note().map(str::to_owned),
            prev_status: prev_status.map(str::to_owned),
            prev_requested,
            prev_note,
            about: p.about.clone(),
            lang: p.lang.map(|l| l.code().to_owned()),
            notify: p.notify,
            forget_requested: p.forget_requested_at.map(millis),
        }
    }
}

impl Tx {
    /// The member's profile, `None` when the bot has none; with `for_update` the row stays locked
    /// until the transaction ends (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises).
    pub async fn find_profile(&mut self, member: &MemberId, for_update: bool) -> Result<Option<Profile>> {
        const LOCK_MEMBER: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
        let select = match (&mut self.tx, for_update) {
            (Backend::Postgres(tx), true) => {
                // `FOR UPDATE` locks nothing while the member has no row yet; the advisory lock
                // serialises every decision about this member, first one included.
                sqlx::query(LOCK_MEMBER).bind(member.as_str()).execute(&mut **tx).await?;
                SELECT_MEMBER_FOR_UPDATE
            }
            _ => SELECT_MEMBER,
        };
        let found = on_backend!(&mut self.tx, tx => {
            let rows = sqlx::query(select).bind(member.as_str()).fetch_all(&mut **tx).await?;
            match rows.first() {
                None => None,
                Some(row) => {
                    let columns = Columns {
                        status: row.try_get(0)?,
                        requested: row.try_get(1)?,
                        deadline: row.try_get(2)?,
                        note: row.try_get(3)?,
                        prev_status: row.try_get(4)?,
                        prev_requested: row.try_get(5)?,
                        prev_note: row.try_get(6)?,
                        about: row.try_get(7)?,
                        lang: row.try_get(8)?,
                        notify: row.try_get(9)?,
                        forget_requested: row.try_get(10)?,
                    };
                    let mut payment = Vec::new();
                    for r in &rows {
                        let label: Option<String> = r.try_get(11)?;
                        if let Some(label) = label {
                            payment.push(PaymentMethod { label, details: r.try_get(12)?, is_default: r.try_get(13)? });
                        }
                    }
                    Some((columns, payment))
                }
            }
        });
        found.map(|(columns, payment)| columns.into_profile(member.clone(), payment)).transpose()
    }

    /// The member's profile for a decision, locked; a fresh profile when the bot has none.
    pub async fn profile_for_update(&mut self, member: &MemberId) -> Result<Profile> {
        Ok(self.find_profile(member, true).await?.unwrap_or_else(|| Profile::new(member.clone())))
    }

    /// Writes a profile; `before` is what [`Tx::profile_for_update`] returned, so that payment rows
    /// are rewritten only when they changed.
    pub async fn save_profile(&mut self, before: &Profile, after: &Profile, now: DateTime<Utc>) -> Result<()> {
        const UPSERT: &str = "INSERT INTO members (user_id, status, requested_cents, deadline_ms, note, prev_status, \
             prev_requested_cents, prev_note, about, lang, notify, forget_requested_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, requested_cents = excluded.requested_cents, \
             deadline_ms = excluded.deadline_ms, note = excluded.note, prev_status = excluded.prev_status, \
             prev_requested_cents = excluded.prev_requested_cents, prev_note = excluded.prev_note, about = excluded.about, \
             lang = excluded.lang, notify = excluded.notify, forget_requested_ms = excluded.forget_requested_ms, \
             updated_ms = excluded.updated_ms";
        const DELETE_PAYMENT: &str = "DELETE FROM payment_methods WHERE user_id = $1";
        const INSERT_PAYMENT: &str = "INSERT INTO payment_methods (user_id, label, details, is_default) VALUES ($1, $2, $3, $4)";
        let c = Columns::from_profile(after);
        let user = after.member.as_str();
        let payment_changed = before.payment != after.payment;
        on_backend!(&mut self.tx, tx => {
            sqlx::query(UPSERT)
                .bind(user).bind(&c.status).bind(c.requested).bind(c.deadline).bind(&c.note).bind(&c.prev_status)
                .bind(c.prev_requested).bind(&c.prev_note).bind(&c.about).bind(&c.lang).bind(c.notify)
                .bind(c.forget_requested).bind(millis(now))
                .execute(&mut **tx).await?;
            if payment_changed {
                sqlx::query(DELETE_PAYMENT).bind(user).execute(&mut **tx).await?;
                for m in &after.payment {
                    sqlx::query(INSERT_PAYMENT).bind(user).bind(&m.label).bind(&m.details).bind(m.is_default)
                        .execute(&mut **tx).await?;
                }
            }
        });
        Ok(())
    }

    /// `forget-me confirm`: erases the profile, payment details and language.
    pub async fn erase_member(&mut self, member: &MemberId) -> Result<()> {
        const DELETE_PAYMENT: &str = "DELETE FROM payment_methods WHERE user_id = $1";
        const DELETE_MEMBER: &str = "DELETE FROM members WHERE user_id = $1";
        on_backend!(&mut self.tx, tx => {
            sqlx::query(DELETE_PAYMENT).bind(member.as_str()).execute(&mut **tx).await?;
            sqlx::query(DELETE_MEMBER).bind(member.as_str()).execute(&mut **tx).await?;
        });
        Ok(())
    }
}
