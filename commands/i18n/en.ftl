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
err-command-too-long = This message is too long for a command (at most { $max } bytes).
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
