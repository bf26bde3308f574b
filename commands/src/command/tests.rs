use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::amount::Amount;
use crate::outcome::{Effect, Outcome, PayAction, Reply};
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

fn run(body: &str, profile: &Profile, in_dm: bool) -> Result<Outcome, CommandError> {
    let sender = member();
    let ctx = Ctx { sender: &sender, in_dm, now: now(), circle_owner: None };
    decide(&ok(body), &ctx, profile, &LedgerFacts::default())
}

fn saved(d: Outcome) -> Profile {
    match d.effects.first() {
        Some(Effect::SaveProfile(p)) => p.clone(),
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
        Command::Status(StatusCommand::Orange {
            requested: amount("300.50"),
            note: Some("rent and food".into())
        })
    );
    assert_eq!(
        ok(r#"!status red 1000 7 "surgery""#),
        Command::Status(StatusCommand::Red {
            requested: amount("1000"),
            days: 7,
            note: Some("surgery".into())
        })
    );
    assert_eq!(ok("!about  I fix bikes "), Command::About { text: Some("I fix bikes".into()) });
    assert_eq!(ok("!about"), Command::About { text: None });
    assert_eq!(
        ok(r#"!pay add bank "IBAN DE00 1234""#),
        Command::Pay(PayCommand::Add { label: "bank".into(), details: "IBAN DE00 1234".into() })
    );
    assert_eq!(
        ok("!pay add cash in person, at the market"),
        Command::Pay(PayCommand::Add {
            label: "cash".into(),
            details: "in person, at the market".into()
        })
    );
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
    assert_eq!(
        (p.name.as_str(), p.command.unwrap_err().code),
        ("status", ErrorCode::LimitExceeded)
    );
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
    assert_eq!(d.effects, Vec::new());
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
    assert_eq!(
        run("!forget-me confirm", &p, false).unwrap().effects,
        vec![Effect::Forget(member())]
    );
    let mut stale = p.clone();
    stale.forget_requested_at = Some(now() - Duration::minutes(30));
    assert_eq!(run("!forget-me confirm", &stale, false).unwrap_err().code, ErrorCode::InvalidState);
}

/// The text fields of a command: every `String` a command carries into a record, a profile or a
/// reply. A match without a catch-all, so that a new command must be added here.
fn texts(cmd: &Command) -> Vec<&str> {
    match cmd {
        Command::Help { topic } => topic.iter().copied().collect(),
        Command::Status(StatusCommand::Orange { note, .. } | StatusCommand::Red { note, .. }) => {
            note.as_deref().into_iter().collect()
        }
        Command::About { text } => text.as_deref().into_iter().collect(),
        Command::Pay(PayCommand::Add { label, details }) => vec![label.as_str(), details.as_str()],
        Command::Pay(PayCommand::Remove { label } | PayCommand::Default { label }) => {
            vec![label.as_str()]
        }
        Command::Circle(CircleCommand::Invite { typed, word }) => {
            typed.iter().map(MemberId::as_str).chain([word.as_str()]).collect()
        }
        Command::Intend { what, .. } | Command::CommitDirect { what, .. } => {
            what.as_deref().into_iter().collect()
        }
        Command::Pool(PoolCommand::Create { name }) => vec![name.as_str()],
        Command::Pool(PoolCommand::Rule { key, value }) => vec![key.as_str(), value.as_str()],
        Command::Claim { event, description, .. } => vec![event.as_str(), description.as_str()],
        Command::Propose { title, .. } => vec![title.as_str()],
        Command::Status(StatusCommand::Show | StatusCommand::Green)
        | Command::Pay(PayCommand::Show)
        | Command::Lang(_)
        | Command::Notify(_)
        | Command::ForgetMe { .. }
        | Command::Circle(CircleCommand::Show | CircleCommand::Open | CircleCommand::Link)
        | Command::IntendChange { .. }
        | Command::CommitIntention { .. }
        | Command::Record { .. }
        | Command::Mine
        | Command::Archive(_)
        | Command::Network
        | Command::Pool(PoolCommand::Show | PoolCommand::Rules | PoolCommand::Leave)
        | Command::Pledge { .. }
        | Command::Vote { .. }
        | Command::Back { .. }
        | Command::Initiative(_)
        | Command::Initiatives
        | Command::Clearing(_)
        | Command::Admin(_) => Vec::new(),
    }
}

/// Every string in a JSON value.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

/// What any body gives: no panic; a name of at most 32 characters without control characters; an
/// accepted command whose texts hold no control character but tab and new line; a body holding
/// one refused; an error with a usage or a pointer to help, whose reply (in both languages)
/// carries no control character either, so that it can be stored and sent.
fn check_any_body(body: &str) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::prop_assert;
    let Some(p) = parse(body, &prefixes()) else { return Ok(()) };
    prop_assert!(p.name.chars().count() <= 32, "{:?}", p.name);
    prop_assert!(!p.name.chars().any(char::is_control), "{:?}", p.name);
    let forbidden = body.replace("\r\n", "\n").chars().any(forbidden_character);
    match &p.command {
        Ok(cmd) => {
            prop_assert!(!forbidden, "accepted with a control character: {body:?} → {cmd:?}");
            for text in texts(cmd) {
                prop_assert!(!text.chars().any(forbidden_character), "{text:?} in {cmd:?}");
            }
        }
        Err(e) => {
            prop_assert!(
                e.usage_of.is_some()
                    || matches!(e.code, ErrorCode::UnknownCommand | ErrorCode::LimitExceeded)
                    || e.text.id == "err-control-character",
                "{e:?}"
            );
            for lang in Lang::ALL {
                let r = crate::render::render_error(
                    &p.name,
                    e,
                    &crate::render::Style { lang, unit: "EUR", prefix: "!" },
                );
                let mut all = vec![r.body, r.html];
                strings(&r.result, &mut all);
                for s in all {
                    prop_assert!(
                        !s.chars().any(forbidden_character),
                        "the reply quotes a control character: {s:?}"
                    );
                }
            }
        }
    }
    if forbidden && body.len() <= MAX_COMMAND_BYTES {
        prop_assert!(
            matches!(&p.command, Err(e) if e.text.id == "err-control-character"),
            "{body:?} → {:?}",
            p.command
        );
    }
    Ok(())
}

/// Commands that take text, each in a valid form: control characters are put into them.
const VALID_WITH_TEXT: &[&str] = &[
    "!about I fix bikes",
    "!status orange 300 rent and food",
    "!status red 100 7 \"surgery\"",
    "!pay add bank \"IBAN DE00 1234\"",
    "!pay remove bank",
    "!intend 5 for \"2h plumbing\"",
    "!commit 5 for a lesson",
    "!propose 400 30 a shared tool library",
    "!pool create Fire pool",
    "!pool rule events fire,flood",
    "!claim accident 300 broken wrist",
    "!circle invite @bob:example.org",
    "!help status",
];

fn control_char() -> impl proptest::strategy::Strategy<Value = char> {
    use proptest::strategy::Strategy;
    proptest::prop_oneof![0u32..0x09, 0x0B_u32..0x20, 0x7F_u32..0xA0]
        .prop_map(|n| char::from_u32(n).unwrap_or('\0'))
}

proptest::proptest! {
    /// The parser is total: any input gives `None` or a parse result, never a panic, and an error
    /// always carries a usage or points to help.
    #[test]
    fn parser_never_panics(body in "[!/]?(\\PC|\\p{Cc}|\\s){0,300}") {
        check_any_body(&body)?;
    }

    /// Any text at all, unicode and control characters included.
    #[test]
    fn parser_never_panics_on_any_text(prefix in "[!/]?", rest in proptest::prelude::any::<String>()) {
        check_any_body(&format!("{prefix}{rest}"))?;
    }

    #[test]
    fn parser_handles_command_shaped_noise(words in proptest::collection::vec("(status|pay|add|red|orange|green|about|intend|for|\"|«|»|-1|1,5|0|31|[a-z]{1,5}| |\\t|\\n|\\r\\n|\\p{Cc})", 0..12)) {
        let body = format!("!{}", words.concat());
        check_any_body(&body)?;
    }

    /// A control character anywhere after the prefix of a valid command makes it refused; after the
    /// command word, the refusal names the command and shows its usage.
    #[test]
    fn a_control_character_anywhere_is_refused(i in 0..VALID_WITH_TEXT.len(), c in control_char(), at in 1usize..200) {
        let valid = VALID_WITH_TEXT[i];
        let at = valid.char_indices().map(|(i, _)| i).chain([valid.len()]).filter(|&i| i >= 1).nth(at % valid.chars().count()).unwrap_or(1);
        let body = format!("{}{c}{}", &valid[..at], &valid[at..]);
        let p = parse(&body, &prefixes()).expect("a command");
        let e = p.command.clone().expect_err(&body);
        proptest::prop_assert_eq!(e.text.id, "err-control-character");
        proptest::prop_assert_eq!(e.code, ErrorCode::BadArguments);
        let name = valid[1..].split(' ').next().unwrap_or_default();
        if at > name.len() {
            proptest::prop_assert_eq!((p.name.as_str(), e.usage_of), (name, Some(name)), "{:?}", body);
        }
        check_any_body(&body)?;
    }

    /// Tab and new line stay part of a text as typed.
    #[test]
    fn tabs_and_new_lines_are_kept_in_texts(text in "[a-z]{1,5}([\\t\\n ][a-z]{1,5}){1,5}") {
        proptest::prop_assert_eq!(ok(&format!("!about {text}")), Command::About { text: Some(text.clone()) });
        let Command::Intend { what, .. } = ok(&format!("!intend 5 for \"{text}\"")) else { panic!() };
        proptest::prop_assert_eq!(what, Some(text));
    }
}

/// The characters issue 18 names, as the error names them.
const CONTROL: [(char, &str); 6] = [
    ('\0', "U+0000"),
    ('\u{1}', "U+0001"),
    ('\u{1b}', "U+001B"),
    ('\u{7f}', "U+007F"),
    ('\u{85}', "U+0085"),
    ('\u{9f}', "U+009F"),
];

/// Every command, with `{c}` in each of its text arguments (and, for the others, in some argument),
/// and the argument it is in (0: the command word).
const WITH_CONTROL: &[(&str, &str, i64)] = &[
    ("!about a{c}b", "about", 1),
    ("!about \"a{c}b\"", "about", 1),
    ("!about first line\nsecond{c}", "about", 3),
    ("!status orange 300 rent{c}", "status", 3),
    ("!status red 100 7 «x{c}y»", "status", 4),
    ("!status{c}", "status", 0),
    ("!pay add ba{c}nk IBAN", "pay", 2),
    ("!pay add bank IBAN{c}DE", "pay", 3),
    ("!pay add bank \"IBAN {c} DE\"", "pay", 3),
    ("!pay remove ba{c}nk", "pay", 2),
    ("!pay default ba{c}nk", "pay", 2),
    ("!lang r{c}u", "lang", 1),
    ("!notify of{c}f", "notify", 1),
    ("!forget-me confirm{c}", "forget-me", 1),
    ("!help sta{c}tus", "help", 1),
    ("!circle invite @bob{c}:example.org", "circle", 2),
    ("!circle op{c}en", "circle", 1),
    ("!intend 5 for \"x{c}\"", "intend", 3),
    ("!intend 5 for «x{c}y»", "intend", 3),
    ("!intend{c} 5", "intend", 0),
    ("!intend #4 5{c}", "intend", 2),
    ("!commit 5 for “x{c}y”", "commit", 3),
    ("!commit #4{c}", "commit", 1),
    ("!withdraw #1{c}", "withdraw", 1),
    ("!remind #1{c}", "remind", 1),
    ("!paid #1{c}", "paid", 1),
    ("!confirm #1{c}", "confirm", 1),
    ("!forgive #1{c}", "forgive", 1),
    ("!mine{c}", "mine", 0),
    ("!archive fulfilled{c}", "archive", 1),
    ("!network{c}", "network", 0),
    ("!pool create Fire{c} pool", "pool", 2),
    ("!pool create \"Fire {c} pool\"", "pool", 2),
    ("!pool rule events fire,{c}flood", "pool", 3),
    ("!pledge 5{c}", "pledge", 1),
    ("!claim accident 300 \"broken{c} wrist\"", "claim", 3),
    ("!claim accident 300 broken wrist{c}", "claim", 4),
    ("!claim acc{c}ident 300 broken wrist", "claim", 1),
    ("!vote #3 yes{c}", "vote", 2),
    ("!propose 400 30 \"tool{c} library\"", "propose", 3),
    ("!propose 400 30 tool library{c}", "propose", 4),
    ("!back #3 25{c}", "back", 2),
    ("!initiative #3 goal 35{c}0", "initiative", 3),
    ("!initiatives{c}", "initiatives", 0),
    ("!clearing on{c}", "clearing", 1),
    ("!keep #1{c}", "keep", 1),
    ("!unkeep #1{c}", "unkeep", 1),
    ("!admin run rollover as-of 2027-01-01T00:00:00Z{c}", "admin", 4),
    ("!about \"unterminated {c}", "about", 1),
];

#[test]
fn control_characters_are_refused_in_every_argument_of_every_command() {
    for spec in SPECS {
        assert!(
            WITH_CONTROL.iter().any(|(_, name, _)| name == &spec.name),
            "no case for {}",
            spec.name
        );
    }
    for (template, name, argument) in WITH_CONTROL {
        for (c, code) in CONTROL {
            let body = template.replace("{c}", &c.to_string());
            let p = parsed(&body);
            assert_eq!(p.name, *name, "{body:?}");
            let e = p.command.expect_err(&body);
            assert_eq!(
                (e.code, e.usage_of, e.text.id),
                (ErrorCode::BadArguments, Some(*name), "err-control-character"),
                "{body:?}"
            );
            let arg =
                |key: &str| e.text.args.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
            assert_eq!(arg("char"), Some(crate::text::Arg::Str(code.into())), "{body:?}");
            // NEL (U+0085) separates words like a space does: it is counted with the word before it.
            assert_eq!(arg("argument"), Some(crate::text::Arg::Int(*argument)), "{body:?}");
            for lang in Lang::ALL {
                let r = crate::render::render_error(
                    &p.name,
                    &e,
                    &crate::render::Style { lang, unit: "EUR", prefix: "!" },
                );
                assert!(r.body.contains(code) && r.html.contains(code), "{}", r.body);
                assert!(
                    r.body.contains(&format!(
                        "!{}",
                        SPECS.iter().find(|s| s.name == *name).unwrap().usage[0]
                    )),
                    "the usage: {}",
                    r.body
                );
                assert_eq!(
                    (&r.result["error"], &r.result["command"]),
                    (&serde_json::json!("bad_arguments"), &serde_json::json!(name))
                );
                assert!(
                    !r.body
                        .chars()
                        .chain(r.html.chars())
                        .chain(r.result.to_string().chars())
                        .any(forbidden_character),
                    "{:?}",
                    r.body
                );
                assert!(!r.result.to_string().contains("\\u0000"), "nothing PostgreSQL refuses");
            }
        }
    }
}

#[test]
fn the_error_quotes_the_text_around_the_character_made_visible() {
    let e = err("!pay add bank \"IBAN DE89\u{0}3704 0044 0532 0130 00\"");
    let arg = |key: &str| e.text.args.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    assert_eq!(
        arg("excerpt"),
        Some(crate::text::Arg::Str("…bank \"IBAN DE89␀3704 0044 0532 …".into()))
    );
    let e = err("!about a\u{7f}\u{85}\tb");
    assert_eq!(
        e.text.args.iter().find(|(k, _)| *k == "excerpt").map(|(_, v)| v.clone()),
        Some(crate::text::Arg::Str("!about a␡\u{fffd} b".into()))
    );
    let en = crate::render::tr(Lang::En, &e.text);
    assert!(
        en.starts_with(
            "Argument 1 holds the control character U+007F, shown as ␡ here: “!about a␡"
        ),
        "{en}"
    );
    let ru = crate::render::tr(Lang::Ru, &err("!about\u{0}").text);
    assert!(
        ru.starts_with(
            "В названии команды есть управляющий символ U+0000 (здесь он показан как ␀)"
        ),
        "{ru}"
    );
}

#[test]
fn an_unknown_command_with_a_control_character_points_to_help() {
    let p = parsed("!frob\u{0}nicate");
    let e = p.command.unwrap_err();
    assert_eq!(
        (p.name.as_str(), e.code, e.usage_of, e.text.id),
        ("frob", ErrorCode::BadArguments, None, "err-control-character")
    );
    let p = parsed("!\u{1b}[31mstatus");
    assert_eq!((p.name.as_str(), p.command.unwrap_err().text.id), ("", "err-control-character"));
    // Before the prefix a control character that is a blank (NEL) still counts: the whole body does.
    let p = parsed("\u{85}!about x");
    assert_eq!((p.name.as_str(), p.command.unwrap_err().usage_of), ("about", Some("about")));
    // Any other one there makes the message ordinary conversation: no reply at all.
    assert_eq!(parse("\u{0}!about x", &prefixes()), None);
}

#[test]
fn tab_new_line_and_crlf_are_accepted_where_they_were() {
    assert_eq!(ok("!about a\tb\nc"), Command::About { text: Some("a\tb\nc".into()) });
    assert_eq!(
        ok("!about line one\r\nline two"),
        Command::About { text: Some("line one\nline two".into()) }
    );
    assert_eq!(
        ok("!pay add bank \"IBAN\tDE\""),
        Command::Pay(PayCommand::Add { label: "bank".into(), details: "IBAN\tDE".into() })
    );
    assert_eq!(
        ok("!intend 5 for \"x\ny\""),
        Command::Intend { amount: amount("5"), what: Some("x\ny".into()) }
    );
    assert_eq!(
        ok("!commit 5 for x\ty"),
        Command::CommitDirect { amount: amount("5"), what: Some("x\ty".into()) }
    );
    assert_eq!(
        ok("!status orange 300\nrent"),
        Command::Status(StatusCommand::Orange {
            requested: amount("300"),
            note: Some("rent".into())
        })
    );
    assert_eq!(
        ok("!status\r\nred 100 7\tsurgery"),
        Command::Status(StatusCommand::Red {
            requested: amount("100"),
            days: 7,
            note: Some("surgery".into())
        })
    );
    assert_eq!(
        ok("!propose 400 30 a\ttitle"),
        Command::Propose { goal: amount("400"), days: 30, title: "a\ttitle".into() }
    );
    assert_eq!(
        ok("!claim accident\t300\tbroken\nwrist"),
        Command::Claim {
            event: "accident".into(),
            amount: amount("300"),
            description: "broken\nwrist".into()
        }
    );
    assert_eq!(
        ok("!pool create Fire\npool"),
        Command::Pool(PoolCommand::Create { name: "Fire\npool".into() })
    );
    // A carriage return alone is refused.
    let e = err("!about a\rb");
    assert_eq!(
        (e.text.id, e.text.args[0].1.clone()),
        ("err-control-character", crate::text::Arg::Str("U+000D".into()))
    );
}

#[test]
fn a_message_over_60_kb_gets_a_clear_error() {
    for (body, name, usage) in [
        (format!("!about {}", "x".repeat(61_000 - 7)), "about", Some("about")),
        (format!("!status orange 5 {}", "y ".repeat(500_000)), "status", Some("status")),
        (format!("!about {}", "\u{0}".repeat(1_000_000)), "about", Some("about")),
        (format!("!{}", "a".repeat(1_000_000)), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", None),
    ] {
        assert!(body.len() >= 61_000);
        let p = parsed(&body);
        let e = p.command.clone().unwrap_err();
        assert_eq!(
            (p.name.as_str(), e.code, e.usage_of, e.text.id),
            (name, ErrorCode::LimitExceeded, usage, "err-command-too-long"),
            "{name}"
        );
        for lang in Lang::ALL {
            let r = crate::render::render_error(
                &p.name,
                &e,
                &crate::render::Style { lang, unit: "EUR", prefix: "!" },
            );
            assert!(
                r.body.contains(&body.len().to_string())
                    && r.body.contains(&MAX_COMMAND_BYTES.to_string()),
                "{}",
                r.body
            );
            assert!(
                r.body.len() + r.html.len() + r.result.to_string().len() < 4_000,
                "a short reply"
            );
            assert_eq!(r.result["error"], "limit_exceeded");
        }
    }
    assert_eq!(
        parsed(&format!("!about {}", "x".repeat(61_000))).command.unwrap_err().text.args[1].1,
        crate::text::Arg::Int(61_007)
    );
}

#[test]
fn pay_in_a_circle_room_shows_how_to_pay_its_owner() {
    let sender = member();
    let mut owner = Profile::new(MemberId::parse("@owner:example.org").unwrap());
    owner.payment.push(crate::profile::PaymentMethod {
        label: "iban".into(),
        details: "DE89".into(),
        is_default: true,
    });
    let ctx = Ctx { sender: &sender, in_dm: false, now: now(), circle_owner: Some(&owner) };
    let d =
        decide(&ok("!pay"), &ctx, &Profile::new(sender.clone()), &LedgerFacts::default()).unwrap();
    assert_eq!(
        d.reply,
        Reply::CirclePay { owner: owner.member.clone(), methods: owner.payment.clone() }
    );
    assert_eq!(d.private, None, "nothing of the sender's own goes anywhere");
    // In the DM it is always the sender's own.
    let ctx = Ctx { in_dm: true, ..ctx };
    let d =
        decide(&ok("!pay"), &ctx, &Profile::new(sender.clone()), &LedgerFacts::default()).unwrap();
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
    assert_eq!(
        ok("!admin clearing preview"),
        Command::Admin(AdminCommand::Clearing { apply: false })
    );
    assert_eq!(ok("!admin clearing run"), Command::Admin(AdminCommand::Clearing { apply: true }));
    assert_eq!(
        ok("!admin run clearing"),
        Command::Admin(AdminCommand::Run { job: crate::cycle::Job::Clearing, as_of: None })
    );
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

#[test]
fn every_command_has_its_family() {
    let cases = [
        ("!help", Family::Profile),
        ("!status orange 300", Family::Profile),
        ("!about hello", Family::Profile),
        ("!pay", Family::Profile),
        ("!lang ru", Family::Profile),
        ("!notify off", Family::Profile),
        ("!forget-me", Family::Profile),
        ("!circle", Family::Ledger),
        ("!intend 5", Family::Ledger),
        ("!intend #3 7", Family::Ledger),
        ("!commit #3", Family::Ledger),
        ("!commit 5", Family::Ledger),
        ("!confirm #3", Family::Ledger),
        ("!mine", Family::Ledger),
        ("!archive", Family::Ledger),
        ("!network", Family::Ledger),
        ("!pool", Family::Pool),
        ("!pledge 10", Family::Pool),
        ("!claim flood 100 the cellar", Family::Pool),
        ("!vote #2 yes", Family::Pool),
        ("!propose 500 30 a new roof", Family::Initiative),
        ("!back #1 20", Family::Initiative),
        ("!initiative #1", Family::Initiative),
        ("!initiatives", Family::Initiative),
        ("!clearing on", Family::Clearing),
        ("!keep #4", Family::Clearing),
        ("!admin stats", Family::Admin),
    ];
    for (body, family) in cases {
        let cmd = ok(body);
        assert_eq!(cmd.family(), family, "{body}");
        // What the pipeline's dispatch relies on.
        assert_eq!(
            cmd.is_ledger(),
            matches!(family, Family::Ledger | Family::Pool | Family::Initiative),
            "{body}"
        );
    }
}

#[test]
fn a_status_change_carries_its_consequence_and_other_saves_do_not() {
    let p = Profile::new(member());
    let d = run("!status orange 300", &p, false).unwrap();
    let after = saved(d.clone());
    assert_eq!(
        d.effects.last(),
        Some(&Effect::StatusChanged { member: member(), before: Need::Green, after: after.need })
    );
    // The same status again, or another field, changes no status.
    let again = run("!status orange 300", &saved(d), false).unwrap();
    assert!(!again.effects.iter().any(|e| matches!(e, Effect::StatusChanged { .. })));
    let about = run("!about \"a note\"", &p, false).unwrap();
    assert!(!about.effects.iter().any(|e| matches!(e, Effect::StatusChanged { .. })));
}
