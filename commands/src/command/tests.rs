use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::amount::Amount;
use crate::outcome::{Change, PayAction, Reply};
use crate::profile::{Need, Settled};

fn prefixes() -> Vec<String> {
    vec!["!".into(), "/".into()]
}

fn parsed(body: &str) -> Parsed {
    parse(body, &prefixes()).expect("a command")
}

fn ok(body: &str) -> Command {
    parsed(body).command.unwrap_or_else(|e| panic!("{body}: {e:?}"))
}

fn err(body: &str) -> CommandError {
    parsed(body).command.expect_err(body)
}

fn amount(s: &str) -> Amount {
    Amount::parse(s).unwrap()
}

fn member() -> MemberId {
    MemberId::parse("@alice:example.org").unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
}

fn run(body: &str, profile: &Profile, in_dm: bool) -> Result<Decision, CommandError> {
    let sender = member();
    let ctx = Ctx { sender: &sender, in_dm, now: now(), circle_owner: None };
    decide(&ok(body), &ctx, profile, &LedgerFacts::default())
}

fn saved(d: Decision) -> Profile {
    match d.change {
        Change::Save(p) => p,
        other => panic!("expected a save, got {other:?}"),
    }
}

#[test]
fn ordinary_messages_are_not_commands() {
    assert_eq!(parse("hello !status", &prefixes()), None);
    assert_eq!(parse("", &prefixes()), None);
    assert!(parse("  !status", &prefixes()).is_some());
    assert!(parse("/status", &prefixes()).is_some());
    assert_eq!(parse("!status", &["/".to_owned()]), None);
}

#[test]
fn profile_commands_parse_to_typed_values() {
    assert_eq!(ok("!help"), Command::Help { topic: None });
    assert_eq!(ok("!help !status"), Command::Help { topic: Some("status") });
    assert_eq!(ok("!STATUS"), Command::Status(StatusCommand::Show));
    assert_eq!(ok("!status green"), Command::Status(StatusCommand::Green));
    assert_eq!(
        ok("!status orange 300,50 rent and food"),
        Command::Status(StatusCommand::Orange { requested: amount("300.50"), note: Some("rent and food".into()) })
    );
    assert_eq!(
        ok(r#"!status red 1000 7 "surgery""#),
        Command::Status(StatusCommand::Red { requested: amount("1000"), days: 7, note: Some("surgery".into()) })
    );
    assert_eq!(ok("!about  I fix bikes "), Command::About { text: Some("I fix bikes".into()) });
    assert_eq!(ok("!about"), Command::About { text: None });
    assert_eq!(
        ok(r#"!pay add bank "IBAN DE00 1234""#),
        Command::Pay(PayCommand::Add { label: "bank".into(), details: "IBAN DE00 1234".into() })
    );
    assert_eq!(ok("!pay add cash in person, at the market"), Command::Pay(PayCommand::Add { label: "cash".into(), details: "in person, at the market".into() }));
    assert_eq!(ok("!pay remove bank"), Command::Pay(PayCommand::Remove { label: "bank".into() }));
    assert_eq!(ok("!lang RU"), Command::Lang(Some(Lang::Ru)));
    assert_eq!(ok("!notify off"), Command::Notify(Some(false)));
    assert_eq!(ok("!forget-me confirm"), Command::ForgetMe { confirm: true });
}

#[test]
fn malformed_input_gets_the_right_code_and_usage() {
    let cases: &[(&str, ErrorCode, Option<&str>)] = &[
        ("!", ErrorCode::UnknownCommand, None),
        ("!frobnicate now", ErrorCode::UnknownCommand, None),
        ("!status purple", ErrorCode::BadArguments, Some("status")),
        ("!status orange", ErrorCode::BadArguments, Some("status")),
        ("!status orange -5", ErrorCode::BadArguments, Some("status")),
        ("!status orange 1.234", ErrorCode::BadArguments, Some("status")),
        ("!status orange 1000000000000000000000000000000", ErrorCode::BadArguments, Some("status")),
        ("!status orange 0", ErrorCode::BadArguments, Some("status")),
        ("!status red 100", ErrorCode::BadArguments, Some("status")),
        ("!status red 100 32", ErrorCode::BadArguments, Some("status")),
        ("!status red 100 0", ErrorCode::BadArguments, Some("status")),
        ("!status green now", ErrorCode::BadArguments, Some("status")),
        ("!about \"unclosed", ErrorCode::BadArguments, Some("about")),
        ("!pay add bank", ErrorCode::BadArguments, Some("pay")),
        ("!pay steal", ErrorCode::BadArguments, Some("pay")),
        ("!lang de", ErrorCode::BadArguments, Some("lang")),
        ("!notify maybe", ErrorCode::BadArguments, Some("notify")),
        ("!forget-me now", ErrorCode::BadArguments, Some("forget-me")),
        ("!help nothing", ErrorCode::BadArguments, Some("help")),
    ];
    for (body, code, usage) in cases {
        let e = err(body);
        assert_eq!((e.code, e.usage_of), (*code, *usage), "{body}");
    }
    let long = format!("!about {}", "x".repeat(281));
    assert_eq!(err(&long).code, ErrorCode::LimitExceeded);
    let huge = format!("!status orange 5 {}", "y".repeat(10_000));
    let p = parsed(&huge);
    assert_eq!((p.name.as_str(), p.command.unwrap_err().code), ("status", ErrorCode::LimitExceeded));
}

#[test]
fn unknown_command_names_are_reported_short_and_lower_case() {
    let p = parsed(&format!("!{}", "Z".repeat(100)));
    assert_eq!(p.name, "z".repeat(32));
    assert_eq!(parsed("!").name, "");
}

#[test]
fn red_remembers_orange_and_green_clears_it() {
    let p = Profile::new(member());
    let p = saved(run("!status orange 300 rent", &p, false).unwrap());
    let p = saved(run("!status red 900 10", &p, false).unwrap());
    let Need::Red { previous, deadline, .. } = &p.need else { panic!() };
    assert_eq!(*previous, Settled::Orange { requested: amount("300"), note: Some("rent".into()) });
    assert_eq!(*deadline, now() + Duration::days(10));
    let p = saved(run("!status green", &p, false).unwrap());
    assert_eq!(p.need, Need::Green);
}

#[test]
fn status_show_changes_nothing() {
    let d = run("!status", &Profile::new(member()), false).unwrap();
    assert_eq!(d.change, Change::None);
    assert!(matches!(d.reply, Reply::Status(_)));
}

#[test]
fn payment_details_never_leave_the_dm() {
    let p = Profile::new(member());
    let p = saved(run("!pay add bank IBAN-1", &p, false).unwrap());
    assert!(p.payment[0].is_default);
    let in_room = run("!pay", &p, false).unwrap();
    assert_eq!(in_room.reply, Reply::PaySentByDm);
    assert!(matches!(in_room.private, Some(Reply::PayMethods(ref m)) if m.len() == 1));
    let in_dm = run("!pay", &p, true).unwrap();
    assert!(matches!(in_dm.reply, Reply::PayMethods(_)) && in_dm.private.is_none());
}

#[test]
fn payment_labels_are_unique_and_default_moves_on_removal() {
    let mut p = Profile::new(member());
    for body in ["!pay add bank IBAN", "!pay add cash hand", "!pay default cash"] {
        p = saved(run(body, &p, true).unwrap());
    }
    assert_eq!(run("!pay add BANK other", &p, true).unwrap_err().code, ErrorCode::InvalidState);
    assert_eq!(run("!pay remove card", &p, true).unwrap_err().code, ErrorCode::NotFound);
    let d = run("!pay remove cash", &p, true).unwrap();
    assert_eq!(d.reply, Reply::PayChanged { action: PayAction::Remove, label: "cash".into() });
    let p = saved(d);
    assert_eq!((p.payment.len(), p.payment[0].is_default), (1, true));
    let mut p = p;
    for i in 0..9 {
        p = saved(run(&format!("!pay add l{i} x"), &p, true).unwrap());
    }
    assert_eq!(run("!pay add one-more x", &p, true).unwrap_err().code, ErrorCode::LimitExceeded);
}

#[test]
fn forget_me_needs_a_recent_request() {
    let p = Profile::new(member());
    assert_eq!(run("!forget-me confirm", &p, false).unwrap_err().code, ErrorCode::InvalidState);
    let p = saved(run("!forget-me", &p, false).unwrap());
    assert_eq!(run("!forget-me confirm", &p, false).unwrap().change, Change::Erase);
    let mut stale = p.clone();
    stale.forget_requested_at = Some(now() - Duration::minutes(30));
    assert_eq!(run("!forget-me confirm", &stale, false).unwrap_err().code, ErrorCode::InvalidState);
}

proptest::proptest! {
    /// The parser is total: any input gives `None` or a parse result, never a panic, and an error
    /// always carries a usage or points to help.
    #[test]
    fn parser_never_panics(body in "[!/]?\\PC{0,300}") {
        if let Some(p) = parse(&body, &prefixes()) {
            proptest::prop_assert!(p.name.chars().count() <= 32);
            if let Err(e) = p.command {
                proptest::prop_assert!(e.usage_of.is_some() || e.code == ErrorCode::UnknownCommand || e.code == ErrorCode::LimitExceeded);
            }
        }
    }

    #[test]
    fn parser_handles_command_shaped_noise(words in proptest::collection::vec("(status|pay|add|red|orange|green|\"|«|»|-1|1,5|0|31|[a-z]{1,5}| )", 0..12)) {
        let body = format!("!{}", words.concat());
        let _ = parse(&body, &prefixes());
    }
}

#[test]
fn pay_in_a_circle_room_shows_how_to_pay_its_owner() {
    let sender = member();
    let mut owner = Profile::new(MemberId::parse("@owner:example.org").unwrap());
    owner.payment.push(crate::profile::PaymentMethod { label: "iban".into(), details: "DE89".into(), is_default: true });
    let ctx = Ctx { sender: &sender, in_dm: false, now: now(), circle_owner: Some(&owner) };
    let d = decide(&ok("!pay"), &ctx, &Profile::new(sender.clone()), &LedgerFacts::default()).unwrap();
    assert_eq!(d.reply, Reply::CirclePay { owner: owner.member.clone(), methods: owner.payment.clone() });
    assert_eq!(d.private, None, "nothing of the sender's own goes anywhere");
    // In the DM it is always the sender's own.
    let ctx = Ctx { in_dm: true, ..ctx };
    let d = decide(&ok("!pay"), &ctx, &Profile::new(sender.clone()), &LedgerFacts::default()).unwrap();
    assert_eq!(d.reply, Reply::PayMethods(Vec::new()));
}

#[test]
fn clearing_commands_parse_and_refuse_what_they_do_not_know() {
    assert_eq!(ok("!clearing"), Command::Clearing(ClearingCommand::Show));
    assert_eq!(ok("!clearing ON"), Command::Clearing(ClearingCommand::Set(true)));
    assert_eq!(ok("/clearing off"), Command::Clearing(ClearingCommand::Set(false)));
    assert_eq!(ok("!keep #12"), Command::Clearing(ClearingCommand::Keep { id: 12, keep: true }));
    assert_eq!(ok("!unkeep #12"), Command::Clearing(ClearingCommand::Keep { id: 12, keep: false }));
    assert_eq!(ok("!keep #12").name(), "keep");
    assert_eq!(ok("!unkeep #3").name(), "unkeep");
    assert_eq!(ok("!admin clearing preview"), Command::Admin(AdminCommand::Clearing { apply: false }));
    assert_eq!(ok("!admin clearing run"), Command::Admin(AdminCommand::Clearing { apply: true }));
    assert_eq!(ok("!admin run clearing"), Command::Admin(AdminCommand::Run { job: crate::cycle::Job::Clearing, as_of: None }));
    for (body, usage) in [
        ("!clearing maybe", "clearing"),
        ("!clearing on now", "clearing"),
        ("!keep", "keep"),
        ("!keep 12", "keep"),
        ("!keep #0", "keep"),
        ("!keep #-3", "keep"),
        ("!keep #1 #2", "keep"),
        ("!unkeep #99999999999999999999999999999", "unkeep"),
        ("!admin clearing", "admin"),
        ("!admin clearing apply", "admin"),
        ("!admin clearing run now", "admin"),
    ] {
        let e = err(body);
        assert_eq!(e.code, ErrorCode::BadArguments, "{body}");
        assert_eq!(e.usage_of, Some(usage), "{body}");
    }
}
