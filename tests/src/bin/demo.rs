//! `exodus-demo`: the scripted demo conversation that `deploy/demo.sh` plays against a running
//! Synapse and bot.
//!
//! Two scripted members, alice and bob, are registered on the homeserver; alice creates the room
//! `#<alias>:<server name>`, invites bob and the bot, and both then type profile commands
//! (SPEC §3.1). Each command and the bot's reply text are printed as they happen; each reply is
//! checked against what the script expects. At the end alice invites the newcomer's account into
//! the room, so that a human can carry on from a real client.
//!
//! Configured by the environment (`deploy/demo.sh` sets it):
//!
//! | variable | meaning |
//! |---|---|
//! | `EXODUS_DEMO_HS_URL` | client API of the homeserver, e.g. `http://127.0.0.1:8008` (required) |
//! | `EXODUS_DEMO_HS_NAME` | its server name, e.g. `localhost:8008` (required) |
//! | `EXODUS_DEMO_HS_SECRET` | its `registration_shared_secret`, to register alice and bob (required) |
//! | `EXODUS_DEMO_BOT` | the bot's user ID (required) |
//! | `EXODUS_DEMO_INVITE` | user ID invited into the room at the end (optional) |
//! | `EXODUS_DEMO_ALIAS` | local part of the room alias (default `demo`) |
//! | `EXODUS_DEMO_PACE` | seconds between steps, so a human can follow (default 1.5; 0 for none) |
//! | `EXODUS_DEMO_ROOM_FILE` | if set, the room ID and alias are written there, one per line |
//!
//! Exits with status 0 when every step got the reply it expected, 1 when some did not, 2 on a
//! usage error.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use exodus_e2e::homeserver::{random_suffix, register_exact};
use exodus_e2e::{
    Homeserver, JOIN_TIMEOUT, REPLY_TIMEOUT, Reply, RoomOptions, TestUser, has_cyrillic, register,
};
use matrix_sdk::ruma::{OwnedRoomAliasId, OwnedRoomId};
use serde_json::{Value, json};

/// Who types a command.
#[derive(Clone, Copy)]
enum Who {
    Alice,
    Bob,
}

/// What the reply must be: a success of that command, or that error code.
#[derive(Clone, Copy)]
enum Expect {
    Ok(&'static str),
    Error(&'static str),
}

/// An extra check on a reply, beyond [`Expect`]; returns what is wrong.
type Check = fn(&Reply) -> Option<String>;

struct Step {
    who: Who,
    command: &'static str,
    expect: Expect,
    /// One line for the human watching: what this step shows.
    say: &'static str,
    check: Option<Check>,
    /// After the reply, the payment details must arrive by DM to the sender.
    dm_follows: bool,
}

impl Step {
    fn new(who: Who, command: &'static str, expect: Expect) -> Step {
        Step { who, command, expect, say: "", check: None, dm_follows: false }
    }
    fn say(self, say: &'static str) -> Step {
        Step { say, ..self }
    }
    fn check(self, check: Check) -> Step {
        Step { check: Some(check), ..self }
    }
    fn dm_follows(self) -> Step {
        Step { dm_follows: true, ..self }
    }
}

const IBAN: &str = "DE89 3704 0044 0532 0130 00";

/// `Some(problem)` unless `result[key] == want`.
fn field_is(reply: &Reply, key: &str, want: Value) -> Option<String> {
    (reply.result[key] != want)
        .then(|| format!("expected {key} = {want}, got {}", reply.result[key]))
}

fn problem_if(bad: bool, problem: &str) -> Option<String> {
    bad.then(|| problem.to_owned())
}

fn script() -> Vec<Step> {
    use Expect::{Error, Ok};
    use Who::{Alice, Bob};
    vec![
        Step::new(Alice, "!help", Ok("help"))
            .say("Commands start with ! (or /). help lists them.")
            .check(|r| {
                problem_if(
                    r.result["commands"].as_array().is_none_or(Vec::is_empty),
                    "no `commands` list",
                )
            }),
        Step::new(Bob, "!help status", Ok("help"))
            .say("…and explains one of them, with an example."),
        Step::new(Alice, "!status orange 300 rent", Ok("status"))
            .say("Alice needs help with her rent every month: her status turns orange 🔆.")
            .check(|r| {
                field_is(r, "status", json!("orange"))
                    .or_else(|| field_is(r, "requested", json!("300.00")))
            }),
        Step::new(Bob, "!status", Ok("status"))
            .say("Bob asks for his own status (replies are about oneself only): green ✅.")
            .check(|r| field_is(r, "status", json!("green"))),
        Step::new(Alice, "!status", Ok("status"))
            .say("Alice's orange status is remembered.")
            .check(|r| field_is(r, "status", json!("orange"))),
        Step::new(Alice, "!about I repair bikes and teach guitar", Ok("about"))
            .say("A few words about oneself (at most 280 characters)…"),
        Step::new(Bob, "!about I can drive people to the doctor", Ok("about")).say("…and Bob's."),
        Step::new(Alice, "!pay add iban DE89 3704 0044 0532 0130 00", Ok("pay"))
            .say("Alice saves payment details. They are never echoed in a shared room.")
            .check(|r| {
                problem_if(
                    r.body.contains("DE89") || r.result.to_string().contains("DE89"),
                    "details echoed",
                )
            }),
        Step::new(Alice, "!pay", Ok("pay"))
            .say("Asked in a shared room, the bot sends the details by direct message.")
            .check(|r| field_is(r, "sent_by_dm", json!(true)))
            .dm_follows(),
        Step::new(Bob, "!status purple", Error("bad_arguments"))
            .say("A typo gets an error that shows the correct usage; nothing changes.")
            .check(|r| {
                problem_if(
                    r.result["usage"].as_str().is_none_or(str::is_empty),
                    "no usage in the error",
                )
            }),
        Step::new(Alice, "!lang ru", Ok("lang")).say("Alice prefers Russian…"),
        Step::new(Alice, "!status", Ok("status"))
            .say("…so the bot now answers her in Russian.")
            .check(|r| problem_if(!has_cyrillic(&r.body), "the reply is not in Russian")),
        Step::new(Alice, "!lang en", Ok("lang")).say("Back to English."),
        Step::new(Bob, "!status red 200 7 boiler broke", Ok("status"))
            .say("Bob's boiler broke: an emergency 🆘 of 200 within 7 days.")
            .check(|r| {
                field_is(r, "status", json!("red"))
                    .or_else(|| problem_if(r.result["deadline"].is_null(), "no deadline"))
            }),
        Step::new(Bob, "!status green", Ok("status"))
            .say("Repaired: Bob is green again.")
            .check(|r| field_is(r, "status", json!("green"))),
        Step::new(Alice, "!forget-me", Ok("forget-me"))
            .say("Alice wants to leave no trace: forget-me asks for confirmation…")
            .check(|r| field_is(r, "pending", json!(true))),
        Step::new(Alice, "!forget-me confirm", Ok("forget-me"))
            .say("…and forget-me confirm erases her profile, payment details and language.")
            .check(|r| field_is(r, "erased", json!(true))),
        Step::new(Alice, "!status", Ok("status"))
            .say("Alice is a blank slate again: green, in English.")
            .check(|r| {
                field_is(r, "status", json!("green"))
                    .or_else(|| problem_if(has_cyrillic(&r.body), "still in Russian"))
            }),
    ]
}

struct Settings {
    hs: Homeserver,
    bot: String,
    invite: Option<String>,
    alias: String,
    pace: Duration,
    room_file: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn settings() -> Result<Settings> {
    let required =
        |name: &str| env(name).with_context(|| format!("{name} is not set (run deploy/demo.sh)"));
    let pace = match env("EXODUS_DEMO_PACE") {
        Some(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .with_context(|| format!("EXODUS_DEMO_PACE: not a number of seconds: {text:?}"))?,
        None => Duration::from_millis(1500),
    };
    Ok(Settings {
        hs: Homeserver {
            url: required("EXODUS_DEMO_HS_URL")?.trim_end_matches('/').to_owned(),
            server_name: required("EXODUS_DEMO_HS_NAME")?,
            shared_secret: required("EXODUS_DEMO_HS_SECRET")?,
            rate_limited: false,
        },
        bot: required("EXODUS_DEMO_BOT")?,
        invite: env("EXODUS_DEMO_INVITE"),
        alias: env("EXODUS_DEMO_ALIAS").unwrap_or_else(|| "demo".to_owned()),
        pace,
        room_file: env("EXODUS_DEMO_ROOM_FILE"),
    })
}

/// Terminal styling, off when stdout is not a terminal or `NO_COLOR` is set.
struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
}

/// `text` with every line indented.
fn indent(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let _ = writeln!(out, "      {line}");
    }
    out
}

/// Registers `localpart` with a fresh password (or, if that name is taken, `<localpart>-<random>`)
/// and logs it in.
async fn member(hs: &Homeserver, localpart: &str, display_name: &str) -> Result<TestUser> {
    let password = format!("demo-{}", random_suffix());
    let (user_id, password) = match register_exact(hs, localpart, &password, false).await {
        Ok(user_id) => (user_id, password),
        Err(_) => register(hs, localpart).await?,
    };
    let user = TestUser::login_as(hs, &user_id, &password).await?;
    user.client
        .account()
        .set_display_name(Some(display_name))
        .await
        .context("setting a display name")?;
    Ok(user)
}

/// Alice creates the demo room with its alias, bob and the bot invited; waits until both joined.
async fn create_room(
    s: &Settings,
    alice: &TestUser,
    bob: &TestUser,
) -> Result<(OwnedRoomId, OwnedRoomAliasId)> {
    // Not encrypted, so that the newcomer, joining later, can read the whole conversation (keys
    // for messages sent before one joined are not shared). The DMs the bot opens are encrypted.
    let room_id = alice
        .create_room(RoomOptions {
            name: Some("Exodus demo".to_owned()),
            invite: vec![bob.user_id.to_string(), s.bot.clone()],
            ..RoomOptions::default()
        })
        .await?;
    let mut alias: OwnedRoomAliasId = format!("#{}:{}", s.alias, s.hs.server_name).try_into()?;
    if !alice.client.is_room_alias_available(&alias).await? {
        alias = format!("#{}-{}:{}", s.alias, random_suffix(), s.hs.server_name).try_into()?;
    }
    alice.client.create_room_alias(&alias, &room_id).await.context("creating the room alias")?;
    let room = alice.client.get_room(&room_id).context("the new room is unknown")?;
    room.send_state_event_raw("m.room.canonical_alias", "", json!({"alias": alias}))
        .await
        .context("setting the canonical alias")?;
    bob.wait_joined(&room_id, bob.user_id.as_str(), JOIN_TIMEOUT).await?;
    alice
        .wait_joined(&room_id, &s.bot, JOIN_TIMEOUT)
        .await
        .context("the bot did not join the demo room")?;
    Ok((room_id, alias))
}

/// Plays one step; returns what went wrong, if anything. `Err` only when the bot did not answer.
async fn play(
    s: &Settings,
    st: &Style,
    step: &Step,
    (user, name): (&TestUser, &str),
    room: &OwnedRoomId,
    dm_count: &mut usize,
) -> Result<Option<String>> {
    println!("{}", st.dim(&format!("# {}", step.say)));
    println!("{} {}", st.bold(&format!("{name} ›")), step.command);
    let started = Instant::now();
    let reply = user.command(room, step.command).await?;
    let took = started.elapsed();
    print!("{}", indent(&reply.body));

    let mut problem = match step.expect {
        Expect::Ok(command) if !(reply.ok() && reply.result["command"] == command) => {
            Some(format!("expected a successful `{command}` reply, got {}", reply.result))
        }
        Expect::Error(code)
            if reply.result["ok"] != json!(false) || reply.error() != Some(code) =>
        {
            Some(format!("expected the error `{code}`, got {}", reply.result))
        }
        _ => None,
    };
    if problem.is_none() {
        problem = step.check.and_then(|check| check(&reply));
    }
    if problem.is_none() && step.dm_follows {
        problem = dm(s, st, (user, name), dm_count).await.err().map(|e| format!("{e:#}"));
    }
    let verdict = match (&problem, step.expect) {
        (None, Expect::Ok(command)) => st.green(&format!("✓ {command}")),
        (None, Expect::Error(code)) => st.green(&format!("✓ refused: {code}")),
        (Some(problem), _) => st.red(&format!("✗ {problem}")),
    };
    println!("      {verdict} {}", st.dim(&format!("· reply in {} ms", took.as_millis())));
    Ok(problem)
}

/// Waits for the bot's DM to `user` carrying payment details (the `dm_count`-th such notice) and
/// prints it.
async fn dm(
    s: &Settings,
    st: &Style,
    (user, name): (&TestUser, &str),
    dm_count: &mut usize,
) -> Result<()> {
    let bot_dm =
        user.dm_room_with(&s.bot, JOIN_TIMEOUT).await.context("no direct chat from the bot")?;
    let seen = *dm_count;
    let notice = user
        .wait_for(REPLY_TIMEOUT, "payment details by DM", Some(&bot_dm), |r| {
            r.events(&bot_dm)
                .iter()
                .filter(|e| e.is_bot_notice())
                .filter(|e| {
                    e.exodus_result()
                        .is_some_and(|x| x["command"] == "pay" && x.get("methods").is_some())
                })
                .nth(seen)
                .cloned()
        })
        .await?;
    *dm_count += 1;
    let lock = if notice.encrypted { "🔒 encrypted " } else { "" };
    println!("{}", st.dim(&format!("      ↳ {lock}direct message from the bot to {name}:")));
    print!("{}", indent(notice.body().unwrap_or_default()));
    let methods = notice.content["org.exodus.result"]["methods"].as_array().map_or(0, Vec::len);
    let details = notice.content["org.exodus.result"]["methods"][0]["details"].clone();
    if methods != 1 || details != json!(IBAN) {
        bail!("expected the IBAN in the DM, got {}", notice.content["org.exodus.result"]);
    }
    Ok(())
}

async fn run(s: Settings, st: &Style) -> Result<usize> {
    println!("{}", st.bold(&format!("── Exodus demo on {} ──", s.hs.server_name)));
    let alice = member(&s.hs, "alice", "Alice").await.context("registering alice")?;
    let bob = member(&s.hs, "bob", "Bob").await.context("registering bob")?;
    println!(
        "{}",
        st.dim(&format!(
            "# {} and {} are two members; the bot is {}.",
            alice.user_id, bob.user_id, s.bot
        ))
    );
    let (room, alias) = create_room(&s, &alice, &bob).await?;
    println!(
        "{}",
        st.dim(&format!("# Alice created the room {alias}, invited bob and the bot; both joined."))
    );
    if let Some(path) = &s.room_file {
        std::fs::write(path, format!("{room}\n{alias}\n"))
            .with_context(|| format!("writing {path}"))?;
    }
    println!();

    let steps = script();
    let mut failures = 0;
    let mut dm_count = 0;
    for (i, step) in steps.iter().enumerate() {
        if i > 0 && !s.pace.is_zero() {
            tokio::time::sleep(s.pace).await;
        }
        let member = match step.who {
            Who::Alice => (&alice, "alice"),
            Who::Bob => (&bob, "bob"),
        };
        // No reply at all: the bot is down or stuck; the remaining steps would only time out.
        let problem =
            play(&s, st, step, member, &room, &mut dm_count).await.with_context(|| {
                format!("step {} (`{}`): the bot did not answer", i + 1, step.command)
            })?;
        failures += usize::from(problem.is_some());
        println!();
    }

    if let Some(newcomer) = &s.invite {
        alice.invite(&room, newcomer).await.with_context(|| format!("inviting {newcomer}"))?;
        println!("{}", st.dim(&format!("# Alice invited {newcomer} into {alias}.")));
    }
    let verdict =
        format!("{} of {} steps answered as expected", steps.len() - failures, steps.len());
    println!("{}", if failures == 0 { st.green(&verdict) } else { st.red(&verdict) });
    Ok(failures)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        println!("exodus-demo: plays the scripted demo against a running homeserver and bot.");
        println!(
            "Run it through deploy/demo.sh, which sets EXODUS_DEMO_HS_URL, EXODUS_DEMO_HS_NAME,"
        );
        println!(
            "EXODUS_DEMO_HS_SECRET, EXODUS_DEMO_BOT and optionally EXODUS_DEMO_INVITE, EXODUS_DEMO_ALIAS,"
        );
        println!("EXODUS_DEMO_PACE (seconds between steps) and EXODUS_DEMO_ROOM_FILE.");
        return ExitCode::SUCCESS;
    }
    // matrix-sdk's own warnings (no key backup, missing account data) mean nothing here.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "error,matrix_sdk=off,matrix_sdk_base=off,matrix_sdk_crypto=off",
        )
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let st =
        Style { on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() };
    let s = match settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("exodus-demo: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run(s, &st).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            println!("{}", st.red(&format!("✗ the demo stopped: {e:#}")));
            ExitCode::FAILURE
        }
    }
}
