//! Profiles: the `members` and `payment_methods` tables.

use exodus_commands::{Code, FromCode};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use exodus_commands::profile::{Level, PaymentMethod, Settled};
use exodus_commands::{Amount, Lang, MemberId, Need, Profile};
use sqlx::Row;

use crate::batch::CachedProfile;
use crate::{
    Backend, ROWS_PER_STATEMENT, Result, StoreError, Tx, from_millis, millis, on_backend,
    placeholders, value_rows,
};

/// Members with their payment methods, one row per method (one row with NULL method columns for a
/// member without any): one round trip for many profiles. `{members}` is an `IN` list.
const SELECT_MEMBERS: &str = "SELECT m.user_id, m.status, m.requested_cents, m.deadline_ms, m.note, m.prev_status, \
     m.prev_requested_cents, m.prev_note, m.about, m.lang, m.notify, m.forget_requested_ms, p.label, p.details, p.is_default \
     FROM members m LEFT JOIN payment_methods p ON p.user_id = m.user_id WHERE m.user_id IN ({members}) \
     ORDER BY m.user_id, p.label";

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
    cents
        .map(Amount::from_stored_cents)
        .ok_or_else(|| StoreError::Corrupt(format!("{what} without an amount")))
}

impl Columns {
    fn into_profile(self, member: MemberId, payment: Vec<PaymentMethod>) -> Result<Profile> {
        let level = Level::from_code(&self.status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {}", self.status)))?;
        let need = match level {
            Level::Green => Need::Green,
            Level::Orange => {
                Need::Orange { requested: amount(self.requested, "orange")?, note: self.note }
            }
            Level::Red => Need::Red {
                requested: amount(self.requested, "red")?,
                deadline: from_millis(
                    self.deadline
                        .ok_or_else(|| StoreError::Corrupt("red without deadline".into()))?,
                )?,
                note: self.note,
                previous: match self.prev_status.as_deref() {
                    Some("orange") => Settled::Orange {
                        requested: amount(self.prev_requested, "previous orange")?,
                        note: self.prev_note,
                    },
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
            Need::Red { previous: Settled::Orange { requested, note }, .. } => {
                (Some("orange"), Some(requested.cents()), note.clone())
            }
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

/// The `members` columns of a row of [`SELECT_MEMBERS`] and its payment method, if any.
macro_rules! member_row {
    ($row:expr) => {{
        let columns = Columns {
            status: $row.try_get(1)?,
            requested: $row.try_get(2)?,
            deadline: $row.try_get(3)?,
            note: $row.try_get(4)?,
            prev_status: $row.try_get(5)?,
            prev_requested: $row.try_get(6)?,
            prev_note: $row.try_get(7)?,
            about: $row.try_get(8)?,
            lang: $row.try_get(9)?,
            notify: $row.try_get(10)?,
            forget_requested: $row.try_get(11)?,
        };
        let label: Option<String> = $row.try_get(12)?;
        let method = match label {
            Some(label) => Some(PaymentMethod {
                label,
                details: $row.try_get(13)?,
                is_default: $row.try_get(14)?,
            }),
            None => None,
        };
        ($row.try_get::<String, _>(0)?, columns, method)
    }};
}

impl Tx {
    /// The stored profiles of `members` (those without a row are missing from the map). With
    /// `for_update` on PostgreSQL every member is locked first, in sorted order (two groups of
    /// commands lock their common members in the same order), and their rows `FOR UPDATE`.
    async fn load_profiles(
        &mut self,
        members: &[MemberId],
        for_update: bool,
    ) -> Result<BTreeMap<MemberId, Profile>> {
        const LOCK_MEMBERS: &str =
            "SELECT pg_advisory_xact_lock(hashtextextended(u, 0)) FROM unnest($1::text[]) AS u";
        let mut out = BTreeMap::new();
        for chunk in members.chunks(ROWS_PER_STATEMENT) {
            let mut sql = SELECT_MEMBERS.replace("{members}", &placeholders(1, chunk.len()));
            if let (Backend::Postgres(tx), true) = (&mut self.tx, for_update) {
                // `FOR UPDATE` locks nothing while a member has no row yet; the advisory lock
                // serialises every decision about the member, first one included.
                let mut sorted: Vec<&str> = chunk.iter().map(MemberId::as_str).collect();
                sorted.sort_unstable();
                sqlx::query(LOCK_MEMBERS).bind(sorted).execute(&mut **tx).await?;
                sql.push_str(" FOR UPDATE OF m");
            }
            let rows: Vec<(String, Columns, Option<PaymentMethod>)> = on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for m in chunk {
                    query = query.bind(m.as_str());
                }
                let rows = query.fetch_all(&mut **tx).await?;
                rows.iter().map(|row| Ok(member_row!(row))).collect::<Result<Vec<_>, sqlx::Error>>()?
            });
            let mut current: Option<(String, Columns, Vec<PaymentMethod>)> = None;
            for (user, columns, method) in rows {
                match &mut current {
                    Some((u, _, methods)) if *u == user => methods.extend(method),
                    _ => {
                        if let Some((u, c, methods)) = current.take() {
                            let m = MemberId::parse(&u)
                                .ok_or_else(|| StoreError::Corrupt(format!("member {u}")))?;
                            out.insert(m.clone(), c.into_profile(m, methods)?);
                        }
                        current = Some((user, columns, method.into_iter().collect()));
                    }
                }
            }
            if let Some((u, c, methods)) = current {
                let m = MemberId::parse(&u)
                    .ok_or_else(|| StoreError::Corrupt(format!("member {u}")))?;
                out.insert(m.clone(), c.into_profile(m, methods)?);
            }
        }
        Ok(out)
    }

    /// Reads and locks the profiles of `members` not in the cache yet, in one statement or two.
    pub(crate) async fn preload_profiles(&mut self, members: &[MemberId]) -> Result<()> {
        let missing: Vec<MemberId> =
            members.iter().filter(|m| !self.cache.profiles.contains_key(*m)).cloned().collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut found = self.load_profiles(&missing, true).await?;
        for m in missing {
            let stored = found.remove(&m);
            self.cache
                .profiles
                .insert(m, CachedProfile { current: stored.clone(), stored, updated_ms: 0 });
        }
        Ok(())
    }

    /// The language and notification setting of those of `members` whose settings are not the
    /// defaults (a language chosen, or notifications off), read in bulk without locking them:
    /// what a job's DMs need (a profile's two columns, not the whole profile with its payment
    /// methods). A member left out has the defaults. One statement whatever the number of
    /// members (a rollover's digests go to 100,000, B3): the list goes as one parameter.
    pub async fn notification_settings(
        &mut self,
        members: &[MemberId],
    ) -> Result<BTreeMap<MemberId, (Option<Lang>, bool)>> {
        const SQLITE: &str = "SELECT user_id, lang, notify FROM members WHERE user_id IN (SELECT value FROM json_each($1)) \
             AND (lang IS NOT NULL OR NOT notify)";
        const POSTGRES: &str = "SELECT user_id, lang, notify FROM members WHERE user_id = ANY($1) AND (lang IS NOT NULL OR NOT notify)";
        if members.is_empty() {
            return Ok(BTreeMap::new());
        }
        let rows: Vec<(String, Option<String>, bool)> = match &mut self.tx {
            Backend::Sqlite(tx) => {
                let list = serde_json::to_string(members)
                    .map_err(|e| StoreError::Corrupt(format!("members: {e}")))?;
                sqlx::query_as(SQLITE).bind(list).fetch_all(&mut **tx).await?
            }
            Backend::Postgres(tx) => {
                let list: Vec<&str> = members.iter().map(MemberId::as_str).collect();
                sqlx::query_as(POSTGRES).bind(list).fetch_all(&mut **tx).await?
            }
        };
        let mut out = BTreeMap::new();
        for (user, lang, notify) in rows {
            let m = MemberId::parse(&user)
                .ok_or_else(|| StoreError::Corrupt(format!("member {user}")))?;
            out.insert(m, (lang.as_deref().and_then(Lang::from_code), notify));
        }
        Ok(out)
    }

    /// The member's profile, `None` when the bot has none; with `for_update` the row stays locked
    /// until the transaction ends (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises) and
    /// the profile stays in the transaction's cache. A profile in the cache is returned as this
    /// transaction left it.
    pub async fn find_profile(
        &mut self,
        member: &MemberId,
        for_update: bool,
    ) -> Result<Option<Profile>> {
        if let Some(cached) = self.cache.profiles.get(member) {
            return Ok(cached.current.clone());
        }
        if for_update {
            self.preload_profiles(std::slice::from_ref(member)).await?;
            return Ok(self.cache.profiles.get(member).and_then(|c| c.current.clone()));
        }
        Ok(self.load_profiles(std::slice::from_ref(member), false).await?.remove(member))
    }

    /// The member's profile for a decision, locked; a fresh profile when the bot has none.
    pub async fn profile_for_update(&mut self, member: &MemberId) -> Result<Profile> {
        Ok(self.find_profile(member, true).await?.unwrap_or_else(|| Profile::new(member.clone())))
    }

    /// Saves a profile. One read by [`Tx::profile_for_update`] changes in the cache and is
    /// written at commit; any other is written now, `before` telling whether its payment rows
    /// changed.
    pub async fn save_profile(
        &mut self,
        before: &Profile,
        after: &Profile,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(cached) = self.cache.profiles.get_mut(&after.member) {
            cached.current = Some(after.clone());
            cached.updated_ms = millis(now);
            return Ok(());
        }
        self.write_profiles(&[(Some(before), after, millis(now))]).await
    }

    /// Writes the profiles this transaction changed: one upsert for all, and the payment rows of
    /// those whose methods changed.
    pub(crate) async fn flush_profiles(&mut self) -> Result<()> {
        let dirty: Vec<MemberId> = self
            .cache
            .profiles
            .iter()
            .filter(|(_, c)| c.current.is_some() && c.current != c.stored)
            .map(|(m, _)| m.clone())
            .collect();
        if dirty.is_empty() {
            return Ok(());
        }
        let mut writes = Vec::new();
        for m in &dirty {
            if let Some(CachedProfile { stored, current: Some(after), updated_ms }) =
                self.cache.profiles.get(m)
            {
                writes.push((stored.clone(), after.clone(), *updated_ms));
            }
        }
        let refs: Vec<(Option<&Profile>, &Profile, i64)> =
            writes.iter().map(|(s, a, t)| (s.as_ref(), a, *t)).collect();
        self.write_profiles(&refs).await?;
        for m in &dirty {
            if let Some(cached) = self.cache.profiles.get_mut(m) {
                cached.stored = cached.current.clone();
            }
        }
        Ok(())
    }

    /// Upserts `(stored, after)` profiles and rewrites the payment rows of those whose methods
    /// differ from `stored`'s.
    async fn write_profiles(
        &mut self,
        profiles: &[(Option<&Profile>, &Profile, i64)],
    ) -> Result<()> {
        const MEMBER_COLUMNS: usize = 13;
        let anonymous = self.anonymous_params();
        for chunk in profiles.chunks(ROWS_PER_STATEMENT) {
            let upsert = format!(
                "INSERT INTO members (user_id, status, requested_cents, deadline_ms, note, prev_status, \
                 prev_requested_cents, prev_note, about, lang, notify, forget_requested_ms, updated_ms) VALUES {} \
                 ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, requested_cents = excluded.requested_cents, \
                 deadline_ms = excluded.deadline_ms, note = excluded.note, prev_status = excluded.prev_status, \
                 prev_requested_cents = excluded.prev_requested_cents, prev_note = excluded.prev_note, about = excluded.about, \
                 lang = excluded.lang, notify = excluded.notify, forget_requested_ms = excluded.forget_requested_ms, \
                 updated_ms = excluded.updated_ms",
                value_rows(anonymous, chunk.len(), MEMBER_COLUMNS)
            );
            let columns: Vec<(&str, Columns, i64)> = chunk
                .iter()
                .map(|(_, p, t)| (p.member.as_str(), Columns::from_profile(p), *t))
                .collect();
            for (_, c, _) in &columns {
                crate::no_nul("a note", c.note.as_deref())?;
                crate::no_nul("a note", c.prev_note.as_deref())?;
                crate::no_nul("an about text", c.about.as_deref())?;
            }
            let payment_changed: Vec<&Profile> = chunk
                .iter()
                .filter(|(stored, after, _)| {
                    stored.map_or(&[][..], |s| &s.payment[..]) != &after.payment[..]
                })
                .map(|(_, a, _)| *a)
                .collect();
            let methods: Vec<(&str, &PaymentMethod)> = payment_changed
                .iter()
                .flat_map(|p| p.payment.iter().map(|m| (p.member.as_str(), m)))
                .collect();
            for (_, m) in &methods {
                crate::no_nul("a payment label", m.label.as_str())?;
                crate::no_nul("payment details", m.details.as_str())?;
            }
            let delete = format!(
                "DELETE FROM payment_methods WHERE user_id IN ({})",
                placeholders(1, payment_changed.len())
            );
            on_backend!(&mut self.tx, tx => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(upsert.as_str()));
                for (user, c, updated_ms) in &columns {
                    query = query.bind(*user).bind(&c.status).bind(c.requested).bind(c.deadline).bind(&c.note).bind(&c.prev_status)
                        .bind(c.prev_requested).bind(&c.prev_note).bind(&c.about).bind(&c.lang).bind(c.notify)
                        .bind(c.forget_requested).bind(*updated_ms);
                }
                query.execute(&mut **tx).await?;
                if !payment_changed.is_empty() {
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(delete.as_str()));
                    for p in &payment_changed {
                        query = query.bind(p.member.as_str());
                    }
                    query.execute(&mut **tx).await?;
                }
                for rows in methods.chunks(ROWS_PER_STATEMENT) {
                    let insert = format!("INSERT INTO payment_methods (user_id, label, details, is_default) VALUES {}", value_rows(anonymous, rows.len(), 4));
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.as_str()));
                    for (user, m) in rows {
                        query = query.bind(*user).bind(&m.label).bind(&m.details).bind(m.is_default);
                    }
                    query.execute(&mut **tx).await?;
                }
            });
        }
        Ok(())
    }

    /// `forget-me confirm`: erases the profile, payment details, language and the opt-in to the
    /// set-off.
    pub async fn erase_member(&mut self, member: &MemberId) -> Result<()> {
        const DELETE_PAYMENT: &str = "DELETE FROM payment_methods WHERE user_id = $1";
        const DELETE_CLEARING: &str = "DELETE FROM clearing_members WHERE user_id = $1";
        const DELETE_MEMBER: &str = "DELETE FROM members WHERE user_id = $1";
        on_backend!(&mut self.tx, tx => {
            sqlx::query(DELETE_PAYMENT).bind(member.as_str()).execute(&mut **tx).await?;
            sqlx::query(DELETE_CLEARING).bind(member.as_str()).execute(&mut **tx).await?;
            sqlx::query(DELETE_MEMBER).bind(member.as_str()).execute(&mut **tx).await?;
        });
        if let Some(cached) = self.cache.profiles.get_mut(member) {
            cached.stored = None;
            cached.current = None;
        }
        Ok(())
    }
}
