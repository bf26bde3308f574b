//! Benchmark B2 (SPEC §9): command-to-reply latency through a real Synapse, for exodus-bot's
//! `intend` and `circle`, against a minimal echo bot on the same homeserver in the same run.
//!
//! `exodus-b2 [--samples N] [--warmup W] [--require-target]`
//!
//! The homeserver is Synapse A of the end-to-end environment (`deploy/test-env.sh up`, or one
//! started on demand). The echo bot is this program run again as a child process with `--echo`:
//! matrix-sdk, password login, its own `sync_once` loop (no `Client::sync`, whose one-second
//! delay would make the comparison meaningless, SPEC §9), and a `m.notice` in reply to every `!`
//! message. exodus-bot is the binary of `EXODUS_BOT_BIN` (deploy/bench.sh passes the release
//! build), on SQLite. One client sends to both, alternating, so both see the same load; a
//! latency is the time from just before the client's `PUT /send` to its sync delivering the
//! reply.

#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)] // latencies, not money

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use exodus_e2e::*;
use matrix_sdk::Client;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::events::AnySyncTimelineEvent;
use matrix_sdk::ruma::{RoomId, uint};
use serde_json::{Value, json};

/// SPEC §9: exodus-bot's p50 within 1.2× of the echo bot's.
const TARGET_RATIO: f64 = 1.2;

struct Args {
    samples: usize,
    warmup: usize,
    require_target: bool,
    echo: Option<(String, String, String)>,
}

fn args() -> Result<Args> {
    let mut args = Args { samples: 200, warmup: 10, require_target: false, echo: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--samples" => args.samples = value("--samples")?.parse().context("--samples")?,
            "--warmup" => args.warmup = value("--warmup")?.parse().context("--warmup")?,
            "--require-target" => args.require_target = true,
            "--echo" => {
                args.echo =
                    Some((value("--echo url")?, value("--echo user")?, value("--echo password")?))
            }
            "-h" | "--help" => {
                println!("exodus-b2 [--samples N] [--warmup W] [--require-target]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    ensure!(args.samples > 0, "--samples must be at least 1");
    Ok(args)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = args()?;
    if let Some((url, user, password)) = &args.echo {
        return echo_bot(url, user, password).await;
    }
    init_tracing();
    let hs = Homeserver::a();

    // The echo bot, a process of its own like exodus-bot.
    let (echo_user, echo_password) = register(&hs, "echo").await?;
    let mut echo = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--echo", &hs.url, &echo_user, &echo_password])
        .kill_on_drop(true)
        .spawn()
        .context("starting the echo bot")?;

    let bot = BotProcess::start_new(&hs, BotOptions::default()).await?;
    let owner = TestUser::login(&hs, "b2-owner").await?;
    let member = TestUser::login(&hs, "b2-member").await?;

    let circle = owner.create_room_with(&bot.user_id, false).await?;
    owner.command(&circle, "!circle open").await?.assert_ok("circle");
    owner.command(&circle, "!status orange 1000000").await?.assert_ok("status");
    owner.invite(&circle, member.user_id.as_str()).await?;
    member.wait_joined(&circle, member.user_id.as_str(), JOIN_TIMEOUT).await?;
    let echo_room = member.create_room_with(&echo_user, false).await?;
    member.wait_joined(&echo_room, &echo_user, JOIN_TIMEOUT).await?;

    let mut echo_ms = Vec::new();
    let mut intend_ms = Vec::new();
    let mut circle_ms = Vec::new();
    for n in 0..args.warmup + args.samples {
        let keep = n >= args.warmup;
        let e = latency(&member, &echo_room, "!ping", None).await?;
        let i = latency(&member, &circle, "!intend 1", Some("intend")).await?;
        let e2 = latency(&member, &echo_room, "!ping", None).await?;
        let c = latency(&member, &circle, "!circle", Some("circle")).await?;
        if keep {
            echo_ms.extend([e, e2]);
            intend_ms.push(i);
            circle_ms.push(c);
        }
    }
    let _ = echo.start_kill();

    let echo_p = Percentiles::of(&mut echo_ms);
    let intend_p = Percentiles::of(&mut intend_ms);
    let circle_p = Percentiles::of(&mut circle_ms);
    println!(
        "B2 reply latency through Synapse ({} samples each for exodus-bot, {} for the echo bot), ms:",
        args.samples,
        echo_ms.len()
    );
    println!("  {:<18} {:>8} {:>8} {:>8}   p50 / echo p50", "", "p50", "p90", "p99");
    println!("  {:<18} {:>8.1} {:>8.1} {:>8.1}", "echo bot", echo_p.p50, echo_p.p90, echo_p.p99);
    let mut met = true;
    for (name, p) in [("exodus `intend`", &intend_p), ("exodus `circle`", &circle_p)] {
        let ratio = p.p50 / echo_p.p50;
        met &= ratio <= TARGET_RATIO;
        println!("  {name:<18} {:>8.1} {:>8.1} {:>8.1}   {ratio:.2}×", p.p50, p.p90, p.p99);
    }
    println!(
        "B2 target (p50 within {TARGET_RATIO}× of the echo bot): {}",
        if met { "met" } else { "MISSED" }
    );
    if args.require_target && !met {
        bail!("B2 target missed");
    }
    Ok(())
}

/// Milliseconds from sending `body` to the reply arriving in the sender's sync. With `command`,
/// the reply must be exodus-bot's successful result for it.
async fn latency(user: &TestUser, room: &RoomId, body: &str, command: Option<&str>) -> Result<f64> {
    let started = Instant::now();
    let event = user.send_text(room, body).await?;
    let reply = user.wait_reply(room, &event, REPLY_TIMEOUT).await?;
    let elapsed = started.elapsed();
    if let Some(command) = command {
        reply.assert_ok(command);
    }
    Ok(elapsed.as_secs_f64() * 1000.0)
}

struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles.
    fn of(samples: &mut [f64]) -> Percentiles {
        samples.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let n = samples.len();
            let i = ((p / 100.0) * n as f64).ceil() as usize;
            samples[i.clamp(1, n) - 1]
        };
        Percentiles { p50: rank(50.0), p90: rank(90.0), p99: rank(99.0) }
    }
}

/// The minimal echo bot: joins every room it is invited to and answers every `!` text message
/// of someone else with an `m.notice` replying to it, carrying an `org.exodus.result` so that the
/// measuring client's `wait_reply` sees it exactly as it sees exodus-bot's replies.
async fn echo_bot(url: &str, user: &str, password: &str) -> Result<()> {
    let client = Client::builder().homeserver_url(url).build().await?;
    client
        .matrix_auth()
        .login_username(user, password)
        .initial_device_display_name("exodus B2 echo bot")
        .send()
        .await?;
    let mut filter = FilterDefinition::default();
    filter.room.timeline.limit = Some(uint!(50));
    let settings = SyncSettings::default().filter(Filter::FilterDefinition(filter));
    // History before the start is not answered.
    let first = client.sync_once(settings.clone().timeout(Duration::ZERO)).await?;
    let mut settings = settings.timeout(Duration::from_secs(30)).token(first.next_batch);
    loop {
        let response = match client.sync_once(settings.clone()).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("echo bot: sync failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        settings = settings.token(response.next_batch.clone());
        for room_id in response.rooms.invited.keys() {
            if let Some(room) = client.get_room(room_id) {
                let _ = room.join().await;
            }
        }
        for (room_id, update) in &response.rooms.joined {
            let Some(room) = client.get_room(room_id) else { continue };
            for event in &update.timeline.events {
                let Ok(AnySyncTimelineEvent::MessageLike(message)) = event.raw().deserialize()
                else {
                    continue;
                };
                if message.sender().as_str() == user {
                    continue;
                }
                let raw: Value = event.raw().deserialize_as()?;
                let body = raw["content"]["body"].as_str().unwrap_or_default();
                if raw["type"] != "m.room.message"
                    || raw["content"]["msgtype"] != "m.text"
                    || !body.starts_with('!')
                {
                    continue;
                }
                let content = json!({
                    "msgtype": "m.notice",
                    "body": body,
                    "org.exodus.result": {"command": "echo", "ok": true},
                    "m.relates_to": {"m.in_reply_to": {"event_id": message.event_id()}},
                });
                if let Err(e) = room.send_raw("m.room.message", content).await {
                    eprintln!("echo bot: send failed: {e}");
                }
            }
        }
    }
}
