# Exodus bot, English. Arguments are filled in by commands/src/render.rs.

usage-title = Usage:
example-title = Example:
err-see-help = Type { $prefix }help for the list of commands.

help-title = Commands (type { $prefix }help <command> for one command's usage):
help-help = the commands, or one command's usage and an example
help-status = show or set your status: green, orange (monthly need) or red (emergency with a deadline)
help-about = show or set a short text about yourself (at most 280 characters)
help-pay = your payment details, shown only to you and to your circle
help-lang = the language I write to you in: en or ru
help-notify = switch my direct messages to you on or off
help-forget-me = erase your profile, payment details and language

status-green = Your status: ✅ green — you can help and need nothing
status-orange = Your status: 🔆 orange — monthly need 💰 { $requested } { $unit }
status-red = Your status: 🆘 red — emergency need 💰 { $requested } { $unit } before { $deadline }
status-figures = ❤️ { $intentions } · 🤝 { $obligations } · 👍 { $fulfilled } · 🙏 { $needed } · { $supporters ->
    [one] { $supporters } supporter
   *[other] { $supporters } supporters
}
status-cycle = This cycle — given: ❤️ { $gi } 🤝 { $go } 👍 { $gf }; received: ❤️ { $ri } 🤝 { $ro } 👍 { $rf }

about-set = About you: { $about }
about-none = You have not written anything about yourself yet. For example: { $example }
pay-none = You have saved no payment details: ask in person.
pay-title = Your payment details:
pay-default-mark = (default)
pay-circle-title = How to pay { $owner }:
pay-circle-none = { $owner } has saved no payment details: ask them in person.
pay-sent-by-dm = I have sent your payment details to you in our direct chat.
pay-added = Payment details “{ $label }” saved.
pay-removed = Payment details “{ $label }” removed.
pay-default-set = “{ $label }” is now your default payment method.
lang-set = I will write to you in English.
notify-on = My direct messages to you are on.
notify-off = My direct messages to you are off.
forget-pending = This erases your profile, payment details and language, and cancels open intentions by you and for you. To go ahead, send { $prefix }forget-me confirm within { $minutes } minutes.
forget-done = Done: your profile, payment details and language are erased.

err-unknown-command = I do not know the command “{ $word }”.
err-empty-command = There is no command after the prefix.
err-command-too-long = This message is too long for a command: { $length } bytes, at most { $max } are allowed. Nothing was done.
err-control-character = { $argument ->
    [0] The command word
   *[other] Argument { $argument }
} holds the control character { $char }, shown as { $sign } here: “{ $excerpt }”. A command cannot hold control characters other than tab and new line: remove it and send the command again. Nothing was done.
err-unterminated-quote = A quote opened at position { $at } is never closed.
err-missing-argument = Missing { $what ->
    [amount] an amount
    [days] the number of days
    [label] a label
    [details] the details
   *[other] { $what }
}.
err-unexpected-word = I did not expect “{ $word }” here.
err-not-an-amount = “{ $word }” is not an amount: write digits with at most two decimals, like 12.50 or 12,50.
err-amount-negative = “{ $word }” is negative; amounts are never below zero.
err-amount-decimals = “{ $word }” has more than two decimals.
err-amount-too-large = “{ $word }” is too large; the most is { $max }.
err-amount-zero = The amount must be more than zero.
err-days = “{ $word }” is not a number of days from 1 to 31.
err-text-too-long = That text has { $length } characters; at most { $max } are allowed.
err-bad-choice = “{ $word }” is not one of: { $choices }.
err-unknown-topic = There is no command “{ $word }”.
err-label-exists = You already have payment details labelled “{ $label }”; remove them first.
err-label-missing = You have no payment details labelled “{ $label }”.
err-too-many-methods = You can save at most { $max } payment methods.
err-forget-not-pending = There is nothing to confirm: send forget-me first, then forget-me confirm within { $minutes } minutes.
err-internal = Something went wrong on my side (reference { $id }). Nothing was changed; please try again later.
err-not-joined = You are not a member of this room.

help-circle = your support circle: open one, show it, invite a friend, or get a link to it
help-intend = pledge an intention ❤️ to the circle's owner, or change one of yours
help-withdraw = withdraw one of your intentions
help-commit = turn an intention into an obligation 🤝, or promise an amount directly
help-remind = ask the giver to commit an intention or to fulfil an obligation
help-paid = report that you fulfilled an obligation
help-confirm = confirm 👍 that an obligation to you was fulfilled
help-forgive = release someone from an obligation to you
help-mine = your open intentions and obligations, given and received
help-archive = your closed records (all, fulfilled or overdue)
help-network = the people you support, who support you, and the circles around them

circle-opened = This room is now the support circle of { $owner }.
circle-creating = I am creating your circle room and will invite you to it in a moment.
circle-link = Invite friends with this link: { $link }
circle-invited = I have invited { $member } to this circle.
circle-green = Circle of { $owner }: ✅ green — needs nothing now
circle-orange = Circle of { $owner }: 🔆 monthly need 💰 { $requested } { $unit }
circle-red = Circle of { $owner }: 🆘 emergency need 💰 { $requested } { $unit } before { $deadline }

record-intended = ❤️ Intention #{ $id }: { $amount } { $unit } for { $owner }. You can change it or withdraw it at any time.
record-committed = 🤝 Obligation #{ $id }: { $amount } { $unit } to { $owner }, due { $due }.
record-withdrawn = Intention #{ $id } withdrawn.
record-reminded = I have reminded { $giver } of #{ $id }.
record-paid = #{ $id } reported as fulfilled; { $owner } is asked to confirm it.
record-confirmed = 👍 #{ $id } ({ $amount } { $unit } from { $giver }) is fulfilled. Thank you!
record-forgiven = #{ $id } is forgiven: { $giver } owes nothing for it any more.
record-changed = #{ $id } changed.
record-rest = ❤️ Intention #{ $id } keeps the rest: { $amount } { $unit }.
record-due = due { $due }
records-none = There is nothing here.
more-records = … and { $count ->
    [one] { $count } more record
   *[other] { $count } more records
}, { $amount } { $unit } in all.
more-records-open = … and { $count ->
    [one] { $count } more record
   *[other] { $count } more records
}, { $amount } { $unit } in all (open among them: ❤️ { $intentions } · 🤝 { $obligations }).
more-members = … and { $count ->
    [one] { $count } more member
   *[other] { $count } more members
}.
more-pledges = … and { $count ->
    [one] { $count } more member
   *[other] { $count } more members
}, pledging { $amount } { $unit } in all.
more-shares = … and { $count ->
    [one] { $count } more share
   *[other] { $count } more shares
}, { $amount } { $unit } in all.
more-claims = … and { $count ->
    [one] { $count } more claim
   *[other] { $count } more claims
}, { $amount } { $unit } claimed in all.
more-initiatives = … and { $count ->
    [one] { $count } more initiative
   *[other] { $count } more initiatives
}, backed with { $amount } { $unit } in all.
more-changes = … and { $count ->
    [one] { $count } more obligation
   *[other] { $count } more obligations
}, { $amount } { $unit } set off in all.
more-lines = … and { $count ->
    [one] { $count } more line
   *[other] { $count } more lines
}: the message was too long to send whole.

notice-new-intention = ❤️ { $giver } intends to give you { $amount } { $unit } (#{ $id }).
notice-intention-changed = ❤️ { $giver } changed intention #{ $id } to { $amount } { $unit }.
notice-intention-withdrawn = { $giver } withdrew intention #{ $id } ({ $amount } { $unit }).
notice-new-obligation = 🤝 { $giver } promised you { $amount } { $unit } (#{ $id }), due { $due }.
notice-reminder = { $owner } reminds you of #{ $id } ({ $amount } { $unit }). Send { $prefix }commit #{ $id } or { $prefix }paid #{ $id } when it is done.
notice-paid-reported = { $giver } reports #{ $id } ({ $amount } { $unit }) as fulfilled. React 👍 to this message or send { $prefix }confirm #{ $id } to confirm it.
notice-confirmed = 👍 { $owner } confirmed #{ $id } ({ $amount } { $unit }). Thank you!
notice-forgiven = { $owner } released you from #{ $id } ({ $amount } { $unit }).
notice-collection-cancelled = The emergency collection for { $owner } is complete: your obligation #{ $id } ({ $amount } { $unit }) is cancelled. Thank you!
notice-intention-cancelled = { $owner } needs no support any more: your intention #{ $id } ({ $amount } { $unit }) is cancelled.
notice-left-circle = { $member } left the circle; { $count ->
    [0] they had no open intentions
    [one] their open intention is withdrawn
   *[other] their { $count } open intentions are withdrawn
}.
collection-complete = 🎉 The emergency collection for { $owner } is complete: { $amount } { $unit } confirmed. Thank you all!

state-active = active
state-open = open
state-paid = paid, awaiting confirmation
state-fulfilled = fulfilled
state-forgiven = forgiven
state-withdrawn = withdrawn
state-expired = expired
state-cancelled = cancelled
state-overdue = overdue
state-cleared = cleared

err-record-ref = “{ $word }” is not a record number like #12.
err-no-record = There is no record #{ $id } that you can see.
err-wrong-room = #{ $id } belongs to another circle: use it there or in our direct chat.
err-not-a-circle-room = This room is not a support circle. Open one with circle open.
err-not-a-member = You are not a member of this circle.
err-owner-green = The circle's owner needs nothing now.
err-circle-exists = You already have a circle.
err-room-is-a-circle = This room is already someone's circle.
err-power = You need power level { $power } in this room to make it your circle.
err-world-readable = This room's history can be read without joining; a circle cannot live here.
err-not-a-member-id = “{ $word }” is not a member: mention them or write their full user ID, like @name:example.org.
err-one-member = Name exactly one member.
err-own-circle = You cannot pledge to your own circle.
err-red-obligations-only = In an emergency only obligations help: use commit <amount>.
err-dm-only = This works only in our direct chat.
err-dm-or-circle = This works only in our direct chat or in a circle room.
err-obligation-irrevocable = #{ $id } is an obligation: only its recipient can release it.
err-commit-above-intention = Intention #{ $id } is only { $amount }.
err-already-paid = #{ $id } is already reported as fulfilled.
err-record-closed = #{ $id } is { $state } and cannot change any more.
err-nothing-to-remind = #{ $id } is { $state }: there is nothing to remind of.
err-not-the-giver = Only the giver of #{ $id } can do that.
err-not-the-recipient = Only the recipient of #{ $id } can do that.
err-not-an-obligation = #{ $id } is an intention, not an obligation.
err-not-an-intention = #{ $id } is an obligation, not an intention.

network-title = Your network (this cycle's intentions and obligations, fulfilments of the last three cycles):
network-nobody = nobody
network-supporters = Who supports you
network-supported = Whom you support
network-supporters-of-supporters = Who else supports your supporters
network-co-supporters = Who else supports those you support
network-supported-by-supporters = Whom else your supporters support
network-supported-by-supported = Whom those you support support

request-orange = 🔆 { $owner } needs monthly support: 💰 { $requested } { $unit }, still needed 🙏 { $needed } { $unit }, { $supporters ->
    [one] { $supporters } supporter
   *[other] { $supporters } supporters
}.
request-red = 🆘 { $owner } needs emergency help: 💰 { $requested } { $unit } before { $deadline }, still needed 🙏 { $needed } { $unit }, { $supporters ->
    [one] { $supporters } supporter
   *[other] { $supporters } supporters
}.
request-join = To help, ask to join the circle: { $link }

## The monthly rollover's digest (SPEC §4)
rollover-title = A new month has begun. What changed in your records:
rollover-expired-given = ❤️ Your intention #{ $id } for { $owner } ({ $amount } { $unit }) expired without a commitment; { $owner } no longer counts you as a supporter.
rollover-expired-received = ❤️ Intention #{ $id } from { $giver } ({ $amount } { $unit }) expired without a commitment.
rollover-renewed-given = ❤️ You fulfilled #{ $from } for { $owner }, who still needs support: it renews as intention #{ $id } ({ $amount } { $unit }). Send { $prefix }commit #{ $id } to promise it again, or { $prefix }withdraw #{ $id }.
rollover-renewed-received = ❤️ { $giver }'s support #{ $from } renews as intention #{ $id } ({ $amount } { $unit }).
rollover-overdue-given = ⌛ Your obligation #{ $id } to { $owner } ({ $amount } { $unit }) is overdue. It stays payable: send { $prefix }paid #{ $id } once it is done.
rollover-overdue-received = ⌛ Obligation #{ $id } from { $giver } ({ $amount } { $unit }) is overdue; you can still confirm it, or release it with { $prefix }forgive #{ $id }.

## Reminders and deadlines (SPEC §4)
reminders-title = A reminder of what is waiting for you:
deadlines-title = A due date has passed:
reminder-due = 🤝 #{ $id }: you promised { $owner } { $amount } { $unit }, due { $due }. Send { $prefix }paid #{ $id } once it is done.
reminder-unconfirmed = 🤝 { $giver } reports #{ $id } ({ $amount } { $unit }) as fulfilled and waits for your confirmation: send { $prefix }confirm #{ $id }.
collection-ended = ⏰ The emergency collection for { $owner } reached its deadline with { $collected } of { $requested } { $unit } confirmed. The status is back to { $status ->
    [orange] 🔆 orange
   *[green] ✅ green
}; open obligations stay payable.

## Admin (SPEC §3.6)
help-admin = for the bot's admins: run a scheduled job now, or show counts and the last runs
err-not-a-time = “{ $word }” is not a time: write it in RFC 3339, like 2027-01-01T00:05:00Z.
err-not-admin = Only the bot's admins (named in its configuration) may use admin commands.
admin-run = Ran { $job } as of { $as_of }: { $report }.
admin-stats-title = What the bot holds:
admin-stats-no-runs = No job has run yet.
admin-stats-run = { $job }: last run for { $slot } by { $runner } — { $summary }
admin-stats-running = { $job }: running for { $slot } (by { $runner })
reliability = Your obligations so far: 👍 { $fulfilled } fulfilled · ⌛ { $overdue } overdue · { $forgiven } forgiven

## Pools (SPEC §3.3)
help-pool = a pool of mutual intentions: create one in this room, show it, its rules, change a rule, leave it
help-pledge = set your maximum contribution to this pool for the month (0 leaves)
help-claim = ask the pool to cover an agreed event; its members vote by reacting 👍 or 👎
help-vote = vote on a claim, the same as reacting 👍 or 👎 to the claim message
pool-created = This room is now the pool “{ $name }”. Members pledge with { $prefix }pledge <amount>; nothing is collected in advance. The rules:
pool-rules-title = The rules of the pool “{ $name }”:
pool-rule-changed = 📜 Pool “{ $name }”: the rule { $key } changed from { $from } to { $to }.
pool-pledged = ❤️ Your pledge to the pool “{ $name }” is { $amount } { $unit } for this month: the most you would contribute to approved claims.
pool-left = { $member } left the pool “{ $name }” (pledge { $amount } { $unit }); they are no longer covered and pay nothing for claims not yet approved.
pool-left-room = { $member } left the room, and so the pool “{ $name }” (pledge { $amount } { $unit }).
pool-excluded = ⌛ { $member } is excluded from the pool “{ $name }”: a pool obligation is overdue. Their pledge ({ $amount } { $unit }) is removed.
pool-lapsed = The month is over: the pledge of { $member } to the pool “{ $name }” ({ $amount } { $unit }) lapsed. Pledge again to stay covered.
pool-title = Pool “{ $name }”: pledged { $total } { $unit }, paid this month { $paid } { $unit }, available { $available } { $unit }, reserve after the open claims { $reserve } { $unit }.
pool-no-pledges = Nobody has pledged yet: { $prefix }pledge <amount>.
claim-opened = 📣 Claim #{ $id }. Pool members: react 👍 to approve or 👎 to reject (or send { $prefix }vote #{ $id } yes|no).
claim-voted = 🗳 Your vote on claim #{ $id }: { $vote }.
claim-line = #{ $id }: { $claimant } claims { $amount } { $unit } for { $event }: { $description }
claim-tally = 👍 { $yes } · 👎 { $no } of { $eligible } who may vote — { $state ->
    [voting] voting until { $closes }
    [approved] approved
   *[rejected] rejected
}
claim-shares = Covered { $covered } { $unit }: { $shares }
notice-claim-opened = 📣 A claim (#{ $id }) was opened in your pool. Vote in the pool's room by reacting 👍 or 👎 to the claim, or send { $prefix }vote #{ $id } yes|no there.
notice-claim-decided = Claim #{ $id } is decided: { $verdict ->
    [approved] ✅ approved
    [no_quorum] too few voted, it creates nothing
   *[rejected] ❌ rejected, it creates nothing
}.
notice-pool-obligation = 🤝 Your share of an approved pool claim: obligation #{ $id } of { $amount } { $unit } to { $owner }, due { $due } ({ $what }). Send { $prefix }paid #{ $id } once it is done.
err-not-a-pool-command = That is not a pool command.
err-not-a-pool-room = This room is not a pool. Create one with pool create <name>.
err-pool-in-dm = A pool lives in a room of its own: create it there.
err-room-is-a-pool = This room is already a pool.
err-room-has-initiatives = Initiatives live in this room, and their backings are its records: a circle or a pool needs a room of its own.
err-pool-power = You need power level { $power } in this room to make it a pool.
err-pool-rule-power = You need power level { $power } in this room to change the pool's rules.
err-pool-world-readable = This room's history can be read without joining; a pool cannot live here.
err-pool-open-claims = The rules cannot change while { $count ->
    [one] a claim is
   *[other] { $count } claims are
} being voted on.
err-pool-rule = The rule { $key } needs { $problem }.
err-pool-overdue = You have an overdue obligation of this pool: settle it before pledging again.
err-pledge-below-min = The pool's smallest pledge is { $amount }.
err-pledge-above-max = The pool's largest pledge is { $amount }.
err-pool-no-pledge = You have no pledge in this pool.
err-pool-not-pledged = Only members with a pledge in this pool may claim and vote.
err-pool-event = “{ $event }” is not an event this pool covers: { $events }.
err-no-claim = There is no claim #{ $id } that you can see.
err-claim-wrong-room = Claim #{ $id } belongs to another pool: vote there or in our direct chat.
err-claim-closed = The vote on claim #{ $id } is closed.
err-own-claim = You cannot vote on your own claim.

## Initiatives (SPEC §3.4)
help-propose = propose an initiative in this room: a goal, a deadline in days and a title; it goes ahead only if backing reaches the goal
help-back = back an initiative with an intention (again: change it); withdraw it with withdraw #N
help-initiative = show an initiative, or (its proposer) change its goal while it is active
help-initiatives = the active initiatives of this room
err-initiative-days = “{ $word }” is not a number of days from 1 to { $max }.
err-no-initiative = There is no initiative #{ $id } that you can see.
err-initiative-wrong-room = Initiative #{ $id } lives in another room: use it there or in our direct chat.
err-initiative-in-dm = An initiative lives in a room whose members see and back it: propose it in such a room, not in our direct chat.
err-initiative-circle-room = This room is a circle: its ledger is the circle's. Propose the initiative in a room of its own.
err-initiative-pool-room = This room is a pool: its ledger is the pool's. Propose the initiative in a room of its own.
err-initiatives-in-room = Send this in the room whose initiatives you want to see.
err-initiative-funded = Initiative #{ $id } is already funded: its backings are obligations now.
err-initiative-lapsed = Initiative #{ $id } has lapsed: its backings were cancelled.
err-initiative-ended = Initiative #{ $id } reached its deadline: it can no longer be backed or changed.
err-own-initiative = You proposed initiative #{ $id }: it is backed by the others.
err-not-the-proposer = Only the proposer of initiative #{ $id } can change its goal.
err-backing-use-back = #{ $id } backs an initiative: change it with back #I <amount>; it becomes an obligation when the initiative is funded.
initiative-card-title = 💡 Initiative #{ $id }: “{ $title }”, proposed by { $proposer }
initiative-card-figures = 🎯 goal { $goal } { $unit } · ❤️ backing { $backing } { $unit } from { $backers ->
    [one] 1 backer
   *[other] { $backers } backers
} · 🙏 still needed { $remaining } { $unit }
initiative-card-active = ⏳ { $days ->
    [one] 1 day
   *[other] { $days } days
} left (until { $deadline }) · 👍 { $interest } interested. Back it with { $prefix }back #{ $id } <amount>; a 👍 on this message shows interest and binds nobody.
initiative-card-funded = ✅ Funded: every backing is now an obligation to { $proposer }, due { $due }.
initiative-card-lapsed = ⌛ Lapsed: the goal was not reached by the deadline; every backing was cancelled.
initiative-shown = Initiative #{ $id }:
initiative-backed = ❤️ #{ $id }: you back initiative #{ $initiative } with { $amount } { $unit } (an intention: withdraw it with withdraw #{ $id } while the initiative is active).
initiative-backed-funded = 🤝 #{ $id }: your { $amount } { $unit } funded initiative #{ $initiative }: it is an obligation now.
initiatives-title = Active initiatives in this room:
initiatives-none = No active initiative in this room. Propose one with { $prefix }propose <goal> <days> <title>.
initiatives-line = #{ $id } “{ $title }”: { $backing } of { $goal } { $unit }, { $backers ->
    [one] 1 backer
   *[other] { $backers } backers
}, { $days ->
    [one] 1 day
   *[other] { $days } days
} left
notice-initiative-backed = ❤️ { $giver } backs your initiative #{ $initiative } “{ $title }” with { $amount } { $unit } (#{ $id }).
notice-initiative-funded-backer = 🤝 Initiative #{ $initiative } “{ $title }” is funded: your backing #{ $id } of { $amount } { $unit } is now an obligation to { $proposer }, due { $due }. Report it with { $prefix }paid #{ $id } once given.
notice-initiative-funded = ✅ Initiative #{ $initiative } “{ $title }” is funded: its backers owe { $proposer } what they pledged.
notice-initiative-lapsed-backer = ⌛ Initiative #{ $initiative } “{ $title }” lapsed without reaching its goal: your backing #{ $id } of { $amount } { $unit } is cancelled.
notice-initiative-lapsed = ⌛ Initiative #{ $initiative } “{ $title }” lapsed without reaching its goal: every backing is cancelled.
notice-initiative-left = { $giver } left this room: their backing #{ $id } of { $amount } { $unit } of initiative #{ $initiative } “{ $title }” is withdrawn.

# Clearing (SPEC §3.5)
help-clearing = whether your obligations take part in the monthly set-off, and what the last one changed
help-keep = keep one of your obligations out of the set-off
help-unkeep = let one of your obligations take part in the set-off again
clearing-title = Clearing: obligations were set off along closed chains, so less has to be paid and everyone's balance is unchanged. Your obligations:
clearing-is-on = Your obligations take part in the monthly set-off (send { $prefix }clearing off to stop).
clearing-is-off = Your obligations do not take part in the set-off (send { $prefix }clearing on to join).
clearing-never = No clearing has changed anything yet.
clearing-last = The last clearing, { $at }, changed these of your obligations:
clearing-last-none = The last clearing, { $at }, changed none of your obligations.
clearing-cleared-given = 👍 Your obligation #{ $id } to { $owner } ({ $before } { $unit }) was set off whole: it counts as fulfilled.
clearing-cleared-received = 👍 Obligation #{ $id } from { $giver } ({ $before } { $unit }) was set off whole: it counts as fulfilled.
clearing-reduced-given = 🤝 Your obligation #{ $id } to { $owner }: { $set_off } { $unit } set off (fulfilled, #{ $part }), { $after } { $unit } still to pay (was { $before }).
clearing-reduced-received = 🤝 Obligation #{ $id } from { $giver }: { $set_off } { $unit } set off (fulfilled, #{ $part }), { $after } { $unit } still to receive (was { $before }).
clearing-set-on = Your open obligations now take part in the set-off, where the other party takes part too.
clearing-set-off = Your obligations no longer take part in the set-off.
clearing-kept = #{ $id } is kept out of the set-off.
clearing-unkept = #{ $id } takes part in the set-off again.
clearing-unkept-other-keeps = You no longer keep #{ $id } out of the set-off, but the other party does: it stays out.
clearing-preview = Set-off now: { $eligible } obligations eligible ({ $total } { $unit }); { $cleared } { $unit } would be set off over { $changed } obligations (no set-off can exceed { $bound } { $unit }). Nothing was changed.
clearing-run = Set-off applied: { $eligible } obligations eligible ({ $total } { $unit }); { $cleared } { $unit } set off over { $changed } obligations (no set-off can exceed { $bound } { $unit }).
err-keep-wrong-room = #{ $id } belongs to another room: use it there or in our direct chat.
err-keep-state = #{ $id } is { $state }: only an obligation still to be settled can be kept out of the set-off or let back in.
err-clearing = The set-off could not be computed: { $reason }.

# Issue 18: flood control, the outbox's failing destinations, unreadable messages.
err-flooded = You are sending commands faster than I take them (at most { $burst } at once, then { $per_minute } a minute). This command and any more in the next moments are not executed; please wait a little and send it again.
err-not-a-destination = "{ $word }" is not a room ID (!…:server) or a user ID (@…:server).
err-unreadable = I could not decrypt this message, so it was not executed. If it was a command, please send it again (your client may need to share its keys with my device).
admin-stats-destination-failing = ⚠️ { $destination }: failing since { $since } ({ $failures } tries), { $pending } messages waiting — { $error }
admin-stats-destination-failed = ❌ { $destination }: given up since { $since } ({ $failures } tries), { $pending } messages held — { $error }. `admin outbox retry` or `admin outbox drop` it.
admin-outbox-retried = Outbox: { $destination } tried again now ({ $destinations } destinations, { $messages } messages given up before set going again).
admin-outbox-dropped = Outbox: { $messages } messages to { $destination } dropped.
admin-outbox-all = every failing destination
err-room-now-world-readable = This room's history can now be read without joining, so I show no records or payment details here. Make its history visible to members only again (room settings), or use our direct chat.
err-repeated = { $command } was done a moment ago; it can be repeated in { $minutes } min. Nothing was sent.
