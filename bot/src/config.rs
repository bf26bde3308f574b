//! Configuration (SPEC §7): a TOML file, every key overridable by `EXODUS_<KEY>` (upper case, lists
//! comma-separated, nested keys joined by `__`), validated at start with errors naming the key.
//! Secrets (`password`, `access_token`, a password inside `database_url`) never reach a log.

use exodus_commands::FromCode;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use exodus_commands::{Lang, MemberId};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config: {0}")]
    Syntax(String),
    #[error("config key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, problem: problem.into() }
}

/// A string that prints as `***`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvitePolicy {
    Anyone,
    Admins,
    Homeservers(Vec<String>),
}

impl InvitePolicy {
    pub fn allows(&self, inviter: &str, admins: &[MemberId]) -> bool {
        match self {
            InvitePolicy::Anyone => true,
            InvitePolicy::Admins => admins.iter().any(|a| a.as_str() == inviter),
            InvitePolicy::Homeservers(servers) => inviter
                .split_once(':')
                .is_some_and(|(_, server)| servers.iter().any(|s| s == server)),
        }
    }
}

/// The raw file/environment shape; [`Config`] is what the bot runs on.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    homeserver_url: Option<String>,
    user_id: Option<String>,
    password: Option<Secret>,
    access_token: Option<Secret>,
    device_id: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    #[serde(default)]
    admins: Vec<String>,
    unit: Option<String>,
    timezone: Option<String>,
    prefixes: Option<Vec<String>>,
    #[serde(default)]
    schedules: RawSchedules,
    default_language: Option<String>,
    invite_policy: Option<String>,
    http_addr: Option<String>,
    #[serde(default)]
    limits: RawLimits,
}

/// `[limits]`: numbers, given as TOML integers or (from the environment) as text.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    commands_burst: Option<toml::Value>,
    commands_per_minute: Option<toml::Value>,
    outbox_retry_max_seconds: Option<toml::Value>,
    outbox_give_up_after_seconds: Option<toml::Value>,
    health_reply_age_seconds: Option<toml::Value>,
    repeat_every_seconds: Option<toml::Value>,
}

/// How much the bot takes from one member and how long it keeps trying (`[limits]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Commands a member may send at once before flood control refuses them.
    pub commands_burst: u32,
    /// Commands a member may send a minute after the burst.
    pub commands_per_minute: u32,
    /// The longest wait between tries of a destination that fails.
    pub outbox_retry_max: std::time::Duration,
    /// A destination failing for longer than this is given up until an admin retries it.
    pub outbox_give_up_after: std::time::Duration,
    /// `/health` fails while a reply has waited longer than this to be sent.
    pub health_reply_age: std::time::Duration,
    /// `remind` of one record and `circle invite` of one member, at most this often (0: no limit).
    pub repeat_every: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            commands_burst: 30,
            commands_per_minute: 60,
            outbox_retry_max: std::time::Duration::from_secs(300),
            outbox_give_up_after: std::time::Duration::from_secs(24 * 3600),
            health_reply_age: std::time::Duration::from_secs(300),
            repeat_every: std::time::Duration::from_secs(3600),
        }
    }
}

/// A positive whole number from `[limits]`, `default` when not given.
fn limit(key: &'static str, value: Option<toml::Value>, default: u64) -> Result<u64, ConfigError> {
    let n = match value {
        None => return Ok(default),
        Some(toml::Value::Integer(n)) => u64::try_from(n).ok(),
        Some(toml::Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    n.filter(|n| *n > 0 && *n <= 10_000_000)
        .ok_or_else(|| invalid(key, "a whole number from 1 to 10000000"))
}

impl RawLimits {
    fn validate(self) -> Result<Limits, ConfigError> {
        let d = Limits::default();
        let secs = std::time::Duration::from_secs;
        let small = |key, n: u64| u32::try_from(n).map_err(|_| invalid(key, "too large"));
        Ok(Limits {
            commands_burst: small(
                "limits.commands_burst",
                limit("limits.commands_burst", self.commands_burst, d.commands_burst.into())?,
            )?,
            commands_per_minute: small(
                "limits.commands_per_minute",
                limit(
                    "limits.commands_per_minute",
                    self.commands_per_minute,
                    d.commands_per_minute.into(),
                )?,
            )?,
            outbox_retry_max: secs(limit(
                "limits.outbox_retry_max_seconds",
                self.outbox_retry_max_seconds,
                d.outbox_retry_max.as_secs(),
            )?),
            outbox_give_up_after: secs(limit(
                "limits.outbox_give_up_after_seconds",
                self.outbox_give_up_after_seconds,
                d.outbox_give_up_after.as_secs(),
            )?),
            health_reply_age: secs(limit(
                "limits.health_reply_age_seconds",
                self.health_reply_age_seconds,
                d.health_reply_age.as_secs(),
            )?),
            repeat_every: match self.repeat_every_seconds {
                // 0 turns the limit off (a test install).
                Some(toml::Value::Integer(0)) => secs(0),
                Some(toml::Value::String(s)) if s.trim() == "0" => secs(0),
                value => {
                    secs(limit("limits.repeat_every_seconds", value, d.repeat_every.as_secs())?)
                }
            },
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSchedules {
    rollover: Option<String>,
    reminders: Option<String>,
    deadlines: Option<String>,
    clearing: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Login {
    Password(Secret),
    AccessToken(Secret),
}

#[derive(Clone, Debug)]
pub struct Schedules {
    pub rollover: cron::Schedule,
    pub reminders: cron::Schedule,
    pub deadlines: cron::Schedule,
    pub clearing: cron::Schedule,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub homeserver_url: url::Url,
    pub user_id: MemberId,
    pub login: Login,
    pub device_id: String,
    pub data_dir: PathBuf,
    pub database_url: Secret,
    pub admins: Vec<MemberId>,
    pub unit: String,
    pub timezone: chrono_tz::Tz,
    pub prefixes: Vec<String>,
    pub schedules: Schedules,
    pub default_language: Lang,
    pub invite_policy: InvitePolicy,
    pub http_addr: SocketAddr,
    pub limits: Limits,
}

/// Top-level keys, for mapping environment variables; anything else named `EXODUS_*` (such as the
/// test tooling's variables) is not configuration and is left alone.
const KEYS: &[&str] = &[
    "homeserver_url",
    "user_id",
    "password",
    "access_token",
    "device_id",
    "data_dir",
    "database_url",
    "admins",
    "unit",
    "timezone",
    "prefixes",
    "schedules",
    "default_language",
    "invite_policy",
    "http_addr",
    "limits",
];
const LIST_KEYS: &[&str] = &["admins", "prefixes"];

pub const DEFAULT_SCHEDULES: [(&str, &str); 4] = [
    ("rollover", "0 0 0 1 * *"),
    ("reminders", "0 0 9 * * *"),
    ("deadlines", "0 0 * * * *"),
    ("clearing", "0 0 12 25 * *"),
];

impl Config {
    /// Reads the file (if any) and then the environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                text.parse::<toml::Table>().map_err(|e| ConfigError::Syntax(e.to_string()))?
            }
            None => toml::Table::new(),
        };
        let mut env: Vec<_> = env.into_iter().filter(|(k, _)| k.starts_with("EXODUS_")).collect();
        env.sort();
        for (key, value) in env {
            let path: Vec<String> =
                key["EXODUS_".len()..].split("__").map(str::to_lowercase).collect();
            if !KEYS.contains(&path[0].as_str()) {
                continue;
            }
            let value = if LIST_KEYS.contains(&path[0].as_str()) {
                toml::Value::Array(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.into()))
                        .collect(),
                )
            } else {
                toml::Value::String(value)
            };
            let mut node = &mut table;
            for part in &path[..path.len() - 1] {
                let entry = node
                    .entry(part.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                node = entry.as_table_mut().ok_or_else(|| {
                    ConfigError::Syntax(format!("`{part}` is not a table ({key})"))
                })?;
            }
            node.insert(path[path.len() - 1].clone(), value);
        }
        let raw: RawConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Syntax(e.to_string()))?;
        raw.validate()
    }
}

fn schedule(
    key: &'static str,
    value: Option<String>,
    default: &str,
) -> Result<cron::Schedule, ConfigError> {
    let text = value.unwrap_or_else(|| default.to_owned());
    cron::Schedule::from_str(&text)
        .map_err(|e| invalid(key, format!("not a cron expression ({e}): {text:?}")))
}

impl RawConfig {
    fn validate(self) -> Result<Config, ConfigError> {
        let homeserver_url =
            self.homeserver_url.ok_or_else(|| invalid("homeserver_url", "missing"))?;
        let homeserver_url = url::Url::parse(&homeserver_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                invalid("homeserver_url", format!("not an http(s) URL: {homeserver_url:?}"))
            })?;
        let user_id = self.user_id.ok_or_else(|| invalid("user_id", "missing"))?;
        let user_id = MemberId::parse(&user_id)
            .ok_or_else(|| invalid("user_id", format!("not a Matrix user ID: {user_id:?}")))?;
        let login = match (self.password, self.access_token) {
            (Some(p), None) => Login::Password(p),
            (None, Some(t)) => Login::AccessToken(t),
            (Some(_), Some(_)) => {
                return Err(invalid("password", "give either password or access_token, not both"));
            }
            (None, None) => return Err(invalid("password", "missing (or give access_token)")),
        };
        if matches!(&login, Login::Password(p) | Login::AccessToken(p) if p.expose().is_empty()) {
            return Err(invalid("password", "empty"));
        }
        let device_id = self.device_id.unwrap_or_else(|| "EXODUSBOT".to_owned());
        if device_id.is_empty()
            || !device_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid("device_id", "letters, digits, `_` and `-` only"));
        }
        let data_dir = self.data_dir.ok_or_else(|| invalid("data_dir", "missing"))?;
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "empty"));
        }
        let database_url = match self.database_url {
            Some(url) => {
                let u = url.expose();
                if !(u.starts_with("sqlite:")
                    || u.starts_with("postgres://")
                    || u.starts_with("postgresql://"))
                {
                    return Err(invalid("database_url", "expected sqlite:… or postgres://…"));
                }
                url
            }
            None => Secret(format!("sqlite://{}", data_dir.join("exodus.db").display())),
        };
        let admins = self
            .admins
            .iter()
            .map(|a| {
                MemberId::parse(a)
                    .ok_or_else(|| invalid("admins", format!("not a Matrix user ID: {a:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let unit = self.unit.unwrap_or_else(|| "EUR".to_owned());
        if unit.trim().is_empty() || unit.chars().count() > 16 {
            return Err(invalid("unit", "1 to 16 characters"));
        }
        let timezone = self.timezone.unwrap_or_else(|| "UTC".to_owned());
        let timezone = chrono_tz::Tz::from_str(&timezone)
            .map_err(|_| invalid("timezone", format!("unknown time zone {timezone:?}")))?;
        let prefixes = self.prefixes.unwrap_or_else(|| vec!["!".into(), "/".into()]);
        if prefixes.is_empty()
            || prefixes.iter().any(|p| {
                p.is_empty() || p.chars().any(char::is_whitespace) || p.chars().count() > 4
            })
        {
            return Err(invalid("prefixes", "at least one, each 1 to 4 characters without spaces"));
        }
        let raw = self.schedules;
        let schedules = Schedules {
            rollover: schedule("schedules.rollover", raw.rollover, DEFAULT_SCHEDULES[0].1)?,
            reminders: schedule("schedules.reminders", raw.reminders, DEFAULT_SCHEDULES[1].1)?,
            deadlines: schedule("schedules.deadlines", raw.deadlines, DEFAULT_SCHEDULES[2].1)?,
            clearing: schedule("schedules.clearing", raw.clearing, DEFAULT_SCHEDULES[3].1)?,
        };
        let default_language = self.default_language.unwrap_or_else(|| "en".to_owned());
        let default_language = Lang::from_code(&default_language)
            .ok_or_else(|| invalid("default_language", "en or ru"))?;
        let invite_policy = match self.invite_policy.as_deref().unwrap_or("anyone") {
            "anyone" => InvitePolicy::Anyone,
            "admins" => InvitePolicy::Admins,
            other => match other.strip_prefix("homeservers:") {
                Some(list) => {
                    let servers: Vec<String> = list
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if servers.is_empty() {
                        return Err(invalid(
                            "invite_policy",
                            "homeservers: needs at least one server name",
                        ));
                    }
                    InvitePolicy::Homeservers(servers)
                }
                None => {
                    return Err(invalid(
                        "invite_policy",
                        format!("anyone, admins or homeservers:<list>, not {other:?}"),
                    ));
                }
            },
        };
        let http_addr = self.http_addr.unwrap_or_else(|| "127.0.0.1:8787".to_owned());
        let http_addr = http_addr
            .parse()
            .map_err(|_| invalid("http_addr", format!("not a socket address: {http_addr:?}")))?;
        let limits = self.limits.validate()?;
        Ok(Config {
            homeserver_url,
            user_id,
            login,
            device_id,
            data_dir,
            database_url,
            admins,
            unit,
            timezone,
            prefixes,
            schedules,
            default_language,
            invite_policy,
            http_addr,
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("EXODUS_HOMESERVER_URL", "http://127.0.0.1:8008"),
        ("EXODUS_USER_ID", "@bot:localhost"),
        ("EXODUS_PASSWORD", "hunter2"),
        ("EXODUS_DATA_DIR", "/tmp/exodus"),
    ];

    #[test]
    fn runs_from_the_environment_alone_with_defaults() {
        let c = Config::load(None, env(MINIMAL)).unwrap();
        assert_eq!(c.user_id.as_str(), "@bot:localhost");
        assert_eq!(c.database_url.expose(), "sqlite:///tmp/exodus/exodus.db");
        assert_eq!(c.prefixes, ["!", "/"]);
        assert_eq!(
            (c.unit.as_str(), c.timezone, c.default_language),
            ("EUR", chrono_tz::UTC, Lang::En)
        );
        assert_eq!(c.invite_policy, InvitePolicy::Anyone);
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8787");
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn limits_come_from_the_file_or_the_environment_and_are_checked() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("EXODUS_LIMITS__COMMANDS_BURST", "5"));
        pairs.push(("EXODUS_LIMITS__OUTBOX_RETRY_MAX_SECONDS", "7"));
        let c = Config::load(None, env(&pairs)).unwrap();
        assert_eq!((c.limits.commands_burst, c.limits.commands_per_minute), (5, 60));
        assert_eq!(c.limits.outbox_retry_max, std::time::Duration::from_secs(7));
        for bad in ["0", "-1", "many", "1.5"] {
            let mut pairs = MINIMAL.to_vec();
            pairs.push(("EXODUS_LIMITS__COMMANDS_PER_MINUTE", bad));
            let e = Config::load(None, env(&pairs)).unwrap_err().to_string();
            assert!(e.contains("limits.commands_per_minute"), "{bad}: {e}");
        }
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("EXODUS_LIMITS__COMMAND_BURST", "5"));
        assert!(Config::load(None, env(&pairs)).is_err(), "an unknown key in [limits] is refused");
    }

    #[test]
    fn environment_overrides_the_file_lists_and_nested_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "homeserver_url = \"http://a\"\nuser_id = \"@bot:a\"\npassword = \"p\"\ndata_dir = \"/d\"\nunit = \"USD\"\n[schedules]\nrollover = \"0 0 0 2 * *\"\n").unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("EXODUS_UNIT", "EUR"),
                ("EXODUS_ADMINS", "@a:x, @b:y"),
                ("EXODUS_SCHEDULES__CLEARING", "0 0 1 20 * *"),
                ("EXODUS_TEST_HS_URL", "not config, ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.unit, "EUR");
        assert_eq!(c.admins.iter().map(MemberId::as_str).collect::<Vec<_>>(), ["@a:x", "@b:y"]);
        assert_eq!(c.schedules.rollover.to_string(), "0 0 0 2 * *");
        assert_eq!(c.schedules.clearing.to_string(), "0 0 1 20 * *");
    }

    #[test]
    fn errors_name_the_bad_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("EXODUS_TIMEZONE", "Mars/Olympus", "timezone"),
            ("EXODUS_SCHEDULES__ROLLOVER", "every day", "schedules.rollover"),
            ("EXODUS_INVITE_POLICY", "friends", "invite_policy"),
            ("EXODUS_DATABASE_URL", "mysql://x", "database_url"),
            ("EXODUS_HTTP_ADDR", "localhost", "http_addr"),
            ("EXODUS_ADMINS", "alice", "admins"),
            ("EXODUS_DEFAULT_LANGUAGE", "de", "default_language"),
            ("EXODUS_ACCESS_TOKEN", "tok", "password"),
        ];
        for (key, value, named) in cases {
            let mut e = env(MINIMAL);
            e.push(((*key).to_owned(), (*value).to_owned()));
            let err = Config::load(None, e).unwrap_err().to_string();
            assert!(err.contains(&format!("`{named}`")), "{key}: {err}");
        }
        let mut e = env(MINIMAL);
        e.retain(|(k, _)| k != "EXODUS_USER_ID");
        assert!(Config::load(None, e).unwrap_err().to_string().contains("`user_id`"));
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "homeserver_url = \"http://a\"\nuser_id = \"@bot:a\"\npassword = \"p\"\ndata_dir = \"/d\"\npasword = \"typo\"\n").unwrap();
        let err = Config::load(Some(&file), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("pasword"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut e = env(MINIMAL);
        e.push(("EXODUS_DATABASE_URL".into(), "postgres://u:topsecret@db/x".into()));
        let shown = format!("{:?}", Config::load(None, e).unwrap());
        assert!(!shown.contains("hunter2") && !shown.contains("topsecret"), "{shown}");
    }
}
