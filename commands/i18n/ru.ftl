# Exodus bot, русский. Аргументы подставляет commands/src/render.rs.

usage-title = Как использовать:
example-title = Пример:
err-see-help = Список команд: { $prefix }help.

help-title = Команды (подробнее об одной: { $prefix }help <команда>):
help-help = список команд или описание одной команды с примером
help-status = показать или изменить ваш статус: green, orange (ежемесячная нужда) или red (срочная нужда со сроком)
help-about = показать или изменить короткий текст о себе (не больше 280 символов)
help-pay = ваши платёжные реквизиты; их видите только вы и ваш круг
help-lang = язык, на котором я вам пишу: en или ru
help-notify = включить или выключить мои личные сообщения вам
help-forget-me = стереть ваш профиль, реквизиты и язык

status-green = Ваш статус: ✅ зелёный — вы можете помогать, вам ничего не нужно
status-orange = Ваш статус: 🔆 оранжевый — ежемесячная нужда 💰 { $requested } { $unit }
status-red = Ваш статус: 🆘 красный — срочная нужда 💰 { $requested } { $unit } до { $deadline }
status-figures = ❤️ { $intentions } · 🤝 { $obligations } · 👍 { $fulfilled } · 🙏 { $needed } · { $supporters ->
    [one] { $supporters } сторонник
    [few] { $supporters } сторонника
   *[many] { $supporters } сторонников
}
status-cycle = В этом цикле — отдано: ❤️ { $gi } 🤝 { $go } 👍 { $gf }; получено: ❤️ { $ri } 🤝 { $ro } 👍 { $rf }

about-set = О вас: { $about }
about-none = Вы пока ничего о себе не написали. Например: { $example }
pay-none = Вы не сохранили платёжных реквизитов: спросите лично.
pay-title = Ваши платёжные реквизиты:
pay-default-mark = (по умолчанию)
pay-circle-title = Как перевести { $owner }:
pay-circle-none = { $owner } не сохранил(а) реквизитов: спросите лично.
pay-sent-by-dm = Я отправил вам реквизиты в личный чат.
pay-added = Реквизиты «{ $label }» сохранены.
pay-removed = Реквизиты «{ $label }» удалены.
pay-default-set = «{ $label }» теперь ваш способ оплаты по умолчанию.
lang-set = Теперь я пишу вам по-русски.
notify-on = Мои личные сообщения вам включены.
notify-off = Мои личные сообщения вам выключены.
forget-pending = Это сотрёт ваш профиль, реквизиты и язык и отменит открытые намерения от вас и в вашу пользу. Чтобы продолжить, отправьте { $prefix }forget-me confirm в течение { $minutes ->
    [one] { $minutes } минуты
   *[other] { $minutes } минут
}.
forget-done = Готово: ваш профиль, реквизиты и язык стёрты.

err-unknown-command = Я не знаю команды «{ $word }».
err-empty-command = После префикса нет команды.
err-command-too-long = Сообщение слишком длинное для команды: { $length } байт, а можно не больше { $max }. Ничего не сделано.
err-control-character = { $argument ->
    [0] В названии команды
   *[other] В аргументе { $argument }
} есть управляющий символ { $char } (здесь он показан как { $sign }): «{ $excerpt }». Команда не может содержать управляющие символы, кроме табуляции и перевода строки: уберите его и отправьте команду снова. Ничего не сделано.
err-unterminated-quote = Кавычка в позиции { $at } не закрыта.
err-missing-argument = Не хватает { $what ->
    [amount] суммы
    [days] числа дней
    [label] названия
    [details] реквизитов
   *[other] { $what }
}.
err-unexpected-word = Здесь не ожидалось «{ $word }».
err-not-an-amount = «{ $word }» — не сумма: пишите цифры, не больше двух знаков после запятой, например 12.50 или 12,50.
err-amount-negative = «{ $word }» — отрицательная сумма; суммы не бывают меньше нуля.
err-amount-decimals = В «{ $word }» больше двух знаков после запятой.
err-amount-too-large = «{ $word }» — слишком много; наибольшая сумма { $max }.
err-amount-zero = Сумма должна быть больше нуля.
err-days = «{ $word }» — не число дней от 1 до 31.
err-text-too-long = В тексте { $length } символов; можно не больше { $max }.
err-bad-choice = «{ $word }» — не из списка: { $choices }.
err-unknown-topic = Команды «{ $word }» нет.
err-label-exists = У вас уже есть реквизиты «{ $label }»; сначала удалите их.
err-label-missing = У вас нет реквизитов «{ $label }».
err-too-many-methods = Можно сохранить не больше { $max } способов оплаты.
err-forget-not-pending = Нечего подтверждать: сначала отправьте forget-me, затем forget-me confirm в течение { $minutes } минут.
err-internal = Что-то пошло не так с моей стороны (номер { $id }). Ничего не изменено; попробуйте позже.
err-not-joined = Вы не участник этой комнаты.

help-circle = ваш круг поддержки: открыть, показать, пригласить друга или получить ссылку
help-intend = пообещать намерение ❤️ владельцу круга или изменить своё
help-withdraw = отозвать своё намерение
help-commit = превратить намерение в обязательство 🤝 или сразу пообещать сумму
help-remind = попросить дающего оформить намерение или выполнить обязательство
help-paid = сообщить, что вы выполнили обязательство
help-confirm = подтвердить 👍, что обязательство перед вами выполнено
help-forgive = освободить человека от обязательства перед вами
help-mine = ваши открытые намерения и обязательства, данные и полученные
help-archive = ваши закрытые записи (все, выполненные или просроченные)
help-network = кого поддерживаете вы, кто поддерживает вас, и круги вокруг них

circle-opened = Эта комната теперь круг поддержки { $owner }.
circle-creating = Я создаю комнату вашего круга и сейчас приглашу вас в неё.
circle-link = Приглашайте друзей по этой ссылке: { $link }
circle-invited = Я пригласил { $member } в этот круг.
circle-green = Круг { $owner }: ✅ зелёный — сейчас ничего не нужно
circle-orange = Круг { $owner }: 🔆 ежемесячная нужда 💰 { $requested } { $unit }
circle-red = Круг { $owner }: 🆘 срочная нужда 💰 { $requested } { $unit } до { $deadline }

record-intended = ❤️ Намерение #{ $id }: { $amount } { $unit } для { $owner }. Его можно изменить или отозвать в любой момент.
record-committed = 🤝 Обязательство #{ $id }: { $amount } { $unit } для { $owner }, срок { $due }.
record-withdrawn = Намерение #{ $id } отозвано.
record-reminded = Я напомнил { $giver } о #{ $id }.
record-paid = #{ $id } отмечено как выполненное; { $owner } попросят подтвердить.
record-confirmed = 👍 #{ $id } ({ $amount } { $unit } от { $giver }) выполнено. Спасибо!
record-forgiven = #{ $id } прощено: { $giver } больше ничего не должен по нему.
record-changed = #{ $id } изменено.
record-rest = ❤️ Намерение #{ $id } сохраняет остаток: { $amount } { $unit }.
record-due = срок { $due }
more-records = … и ещё { $count ->
    [one] { $count } запись
    [few] { $count } записи
   *[other] { $count } записей
} на сумму { $amount } { $unit }.
more-records-open = … и ещё { $count ->
    [one] { $count } запись
    [few] { $count } записи
   *[other] { $count } записей
} на сумму { $amount } { $unit } (из них открытые: ❤️ { $intentions } · 🤝 { $obligations }).
more-members = … и ещё { $count ->
    [one] { $count } участник
    [few] { $count } участника
   *[other] { $count } участников
}.
more-pledges = … и ещё { $count ->
    [one] { $count } участник
    [few] { $count } участника
   *[other] { $count } участников
} со взносами на сумму { $amount } { $unit }.
more-shares = … и ещё { $count ->
    [one] { $count } доля
    [few] { $count } доли
   *[other] { $count } долей
} на сумму { $amount } { $unit }.
more-claims = … и ещё { $count ->
    [one] { $count } заявка
    [few] { $count } заявки
   *[other] { $count } заявок
} на сумму { $amount } { $unit }.
more-initiatives = … и ещё { $count ->
    [one] { $count } инициатива
    [few] { $count } инициативы
   *[other] { $count } инициатив
}, всего поддержано на { $amount } { $unit }.
more-changes = … и ещё { $count ->
    [one] { $count } обязательство
    [few] { $count } обязательства
   *[other] { $count } обязательств
}, всего зачтено { $amount } { $unit }.
more-lines = … и ещё { $count ->
    [one] { $count } строка
    [few] { $count } строки
   *[other] { $count } строк
}: сообщение было слишком длинным, чтобы отправить его целиком.
records-none = Здесь ничего нет.

notice-new-intention = ❤️ { $giver } намерен дать вам { $amount } { $unit } (#{ $id }).
notice-intention-changed = ❤️ { $giver } изменил намерение #{ $id } на { $amount } { $unit }.
notice-intention-withdrawn = { $giver } отозвал намерение #{ $id } ({ $amount } { $unit }).
notice-new-obligation = 🤝 { $giver } обязался дать вам { $amount } { $unit } (#{ $id }), срок { $due }.
notice-reminder = { $owner } напоминает вам о #{ $id } ({ $amount } { $unit }). Отправьте { $prefix }commit #{ $id } или { $prefix }paid #{ $id }, когда всё будет сделано.
notice-paid-reported = { $giver } сообщает, что #{ $id } ({ $amount } { $unit }) выполнено. Поставьте 👍 на это сообщение или отправьте { $prefix }confirm #{ $id }, чтобы подтвердить.
notice-confirmed = 👍 { $owner } подтвердил #{ $id } ({ $amount } { $unit }). Спасибо!
notice-forgiven = { $owner } освободил вас от #{ $id } ({ $amount } { $unit }).
notice-collection-cancelled = Срочный сбор для { $owner } завершён: ваше обязательство #{ $id } ({ $amount } { $unit }) отменено. Спасибо!
notice-intention-cancelled = { $owner } больше не нуждается в поддержке: ваше намерение #{ $id } ({ $amount } { $unit }) отменено.
notice-left-circle = { $member } покинул круг; { $count ->
    [0] открытых намерений не было
    [one] { $count } открытое намерение отозвано
    [few] { $count } открытых намерения отозваны
   *[other] { $count } открытых намерений отозваны
}.
collection-complete = 🎉 Срочный сбор для { $owner } завершён: подтверждено { $amount } { $unit }. Спасибо всем!

state-active = действует
state-open = открыто
state-paid = оплачено, ждёт подтверждения
state-fulfilled = выполнено
state-forgiven = прощено
state-withdrawn = отозвано
state-expired = истекло
state-cancelled = отменено
state-overdue = просрочено
state-cleared = зачтено

err-record-ref = «{ $word }» — не номер записи вида #12.
err-no-record = Записи #{ $id }, которую вы можете видеть, нет.
err-wrong-room = #{ $id } относится к другому кругу: используйте её там или в нашем личном чате.
err-not-a-circle-room = Эта комната не круг поддержки. Откройте круг командой circle open.
err-not-a-member = Вы не участник этого круга.
err-owner-green = Владельцу круга сейчас ничего не нужно.
err-circle-exists = У вас уже есть круг.
err-room-is-a-circle = Эта комната уже чей-то круг.
err-power = Чтобы сделать эту комнату своим кругом, нужен уровень прав { $power }.
err-world-readable = Историю этой комнаты можно читать без вступления; круг здесь невозможен.
err-not-a-member-id = «{ $word }» — не участник: упомяните его или напишите полный ID, например @name:example.org.
err-one-member = Назовите ровно одного участника.
err-own-circle = Нельзя давать обещания своему же кругу.
err-red-obligations-only = В срочной ситуации помогают только обязательства: используйте commit <сумма>.
err-dm-only = Это работает только в нашем личном чате.
err-dm-or-circle = Это работает только в нашем личном чате или в комнате круга.
err-obligation-irrevocable = #{ $id } — обязательство: освободить от него может только получатель.
err-commit-above-intention = Намерение #{ $id } всего { $amount }.
err-already-paid = #{ $id } уже отмечено как выполненное.
err-record-closed = #{ $id } в состоянии «{ $state }» и больше не меняется.
err-nothing-to-remind = #{ $id } в состоянии «{ $state }»: напоминать не о чем.
err-not-the-giver = Это может сделать только дающий по #{ $id }.
err-not-the-recipient = Это может сделать только получатель по #{ $id }.
err-not-an-obligation = #{ $id } — намерение, а не обязательство.
err-not-an-intention = #{ $id } — обязательство, а не намерение.

network-title = Ваша сеть (намерения и обязательства этого цикла, выполненные за последние три цикла):
network-nobody = никого
network-supporters = Кто поддерживает вас
network-supported = Кого поддерживаете вы
network-supporters-of-supporters = Кто ещё поддерживает ваших сторонников
network-co-supporters = Кто ещё поддерживает тех, кого поддерживаете вы
network-supported-by-supporters = Кого ещё поддерживают ваши сторонники
network-supported-by-supported = Кого поддерживают те, кого поддерживаете вы

request-orange = 🔆 { $owner } нуждается в ежемесячной поддержке: 💰 { $requested } { $unit }, ещё нужно 🙏 { $needed } { $unit }, { $supporters ->
    [one] { $supporters } сторонник
    [few] { $supporters } сторонника
   *[other] { $supporters } сторонников
}.
request-red = 🆘 { $owner } нужна срочная помощь: 💰 { $requested } { $unit } до { $deadline }, ещё нужно 🙏 { $needed } { $unit }, { $supporters ->
    [one] { $supporters } сторонник
    [few] { $supporters } сторонника
   *[other] { $supporters } сторонников
}.
request-join = Чтобы помочь, попросите приглашение в круг: { $link }

## Дайджест ежемесячного перехода (SPEC §4)
rollover-title = Начался новый месяц. Что изменилось в ваших записях:
rollover-expired-given = ❤️ Ваше намерение #{ $id } для { $owner } ({ $amount } { $unit }) истекло без обязательства; { $owner } больше не считает вас поддерживающим.
rollover-expired-received = ❤️ Намерение #{ $id } от { $giver } ({ $amount } { $unit }) истекло без обязательства.
rollover-renewed-given = ❤️ Вы выполнили #{ $from } для { $owner }, кому всё ещё нужна поддержка: оно возобновлено как намерение #{ $id } ({ $amount } { $unit }). Отправьте { $prefix }commit #{ $id }, чтобы снова пообещать, или { $prefix }withdraw #{ $id }.
rollover-renewed-received = ❤️ Поддержка #{ $from } от { $giver } возобновлена как намерение #{ $id } ({ $amount } { $unit }).
rollover-overdue-given = ⌛ Ваше обязательство #{ $id } перед { $owner } ({ $amount } { $unit }) просрочено. Оно остаётся в силе: отправьте { $prefix }paid #{ $id }, когда выполните его.
rollover-overdue-received = ⌛ Обязательство #{ $id } от { $giver } ({ $amount } { $unit }) просрочено; вы всё ещё можете подтвердить его или освободить: { $prefix }forgive #{ $id }.

## Напоминания и сроки (SPEC §4)
reminders-title = Напоминание о том, что вас ждёт:
deadlines-title = Срок прошёл:
reminder-due = 🤝 #{ $id }: вы обещали { $owner } { $amount } { $unit } до { $due }. Отправьте { $prefix }paid #{ $id }, когда выполните.
reminder-unconfirmed = 🤝 { $giver } сообщает, что #{ $id } ({ $amount } { $unit }) выполнено, и ждёт вашего подтверждения: отправьте { $prefix }confirm #{ $id }.
collection-ended = ⏰ Срочный сбор для { $owner } достиг срока: подтверждено { $collected } из { $requested } { $unit }. Статус снова { $status ->
    [orange] 🔆 оранжевый
   *[green] ✅ зелёный
}; открытые обязательства остаются в силе.

## Администрирование (SPEC §3.6)
help-admin = для администраторов бота: запустить плановую задачу сейчас или показать счётчики и последние запуски
err-not-a-time = «{ $word }» — не время: напишите его в формате RFC 3339, например 2027-01-01T00:05:00Z.
err-not-admin = Команды admin доступны только администраторам бота (указанным в его настройках).
admin-run = Выполнено { $job } на момент { $as_of }: { $report }.
admin-stats-title = Что хранит бот:
admin-stats-no-runs = Ни одна задача ещё не запускалась.
admin-stats-run = { $job }: последний запуск за { $slot }, выполнил { $runner } — { $summary }
admin-stats-running = { $job }: выполняется за { $slot } ({ $runner })
reliability = Ваши обязательства за всё время: 👍 выполнено { $fulfilled } · ⌛ просрочено { $overdue } · прощено { $forgiven }

## Пулы (SPEC §3.3)
help-pool = пул взаимных намерений: создать в этой комнате, показать, правила, изменить правило, выйти
help-pledge = ваш наибольший взнос в этот пул на месяц (0 — выйти)
help-claim = попросить пул покрыть оговорённый случай; участники голосуют реакциями 👍 или 👎
help-vote = проголосовать по заявке — то же, что реакция 👍 или 👎 на сообщение заявки
pool-created = Эта комната теперь пул «{ $name }». Участники обещают взнос командой { $prefix }pledge <сумма>; заранее ничего не собирается. Правила:
pool-rules-title = Правила пула «{ $name }»:
pool-rule-changed = 📜 Пул «{ $name }»: правило { $key } изменено с { $from } на { $to }.
pool-pledged = ❤️ Ваш взнос в пул «{ $name }» на этот месяц — { $amount } { $unit }: больше этого вы не внесёте по одобренным заявкам.
pool-left = { $member } вышел из пула «{ $name }» (взнос { $amount } { $unit }); он больше не покрыт и не платит по ещё не одобренным заявкам.
pool-left-room = { $member } покинул комнату, а с ней и пул «{ $name }» (взнос { $amount } { $unit }).
pool-excluded = ⌛ { $member } исключён из пула «{ $name }»: обязательство пула просрочено. Его взнос ({ $amount } { $unit }) снят.
pool-lapsed = Месяц закончился: взнос { $member } в пул «{ $name }» ({ $amount } { $unit }) истёк. Пообещайте снова, чтобы оставаться покрытым.
pool-title = Пул «{ $name }»: обещано { $total } { $unit }, выплачено в этом месяце { $paid } { $unit }, доступно { $available } { $unit }, резерв после открытых заявок { $reserve } { $unit }.
pool-no-pledges = Пока никто не обещал взнос: { $prefix }pledge <сумма>.
claim-opened = 📣 Заявка #{ $id }. Участники пула: реакция 👍 — одобрить, 👎 — отклонить (или { $prefix }vote #{ $id } yes|no).
claim-voted = 🗳 Ваш голос по заявке #{ $id }: { $vote }.
claim-line = #{ $id }: { $claimant } просит { $amount } { $unit } на случай «{ $event }»: { $description }
claim-tally = 👍 { $yes } · 👎 { $no } из { $eligible } имеющих голос — { $state ->
    [voting] голосование до { $closes }
    [approved] одобрена
   *[rejected] отклонена
}
claim-shares = Покрыто { $covered } { $unit }: { $shares }
notice-claim-opened = 📣 В вашем пуле открыта заявка #{ $id }. Голосуйте в комнате пула реакцией 👍 или 👎 на заявку или командой { $prefix }vote #{ $id } yes|no там.
notice-claim-decided = Заявка #{ $id } решена: { $verdict ->
    [approved] ✅ одобрена
    [no_quorum] проголосовало слишком мало, ничего не создано
   *[rejected] ❌ отклонена, ничего не создано
}.
notice-pool-obligation = 🤝 Ваша доля по одобренной заявке пула: обязательство #{ $id } на { $amount } { $unit } перед { $owner }, срок { $due } ({ $what }). Отправьте { $prefix }paid #{ $id }, когда выполните.
err-not-a-pool-command = Это не команда пула.
err-not-a-pool-room = Эта комната — не пул. Создайте его командой pool create <название>.
err-pool-in-dm = Пул живёт в отдельной комнате: создайте его там.
err-room-is-a-pool = Эта комната уже пул.
err-room-has-initiatives = В этой комнате живут инициативы, и их поддержка — её записи: кругу или пулу нужна своя комната.
err-pool-power = Чтобы сделать комнату пулом, нужен уровень прав { $power }.
err-pool-rule-power = Чтобы менять правила пула, нужен уровень прав { $power }.
err-pool-world-readable = Историю этой комнаты можно читать без вступления; пул здесь жить не может.
err-pool-open-claims = Правила нельзя менять, пока идёт голосование: { $count ->
    [one] { $count } заявка
    [few] { $count } заявки
   *[other] { $count } заявок
}.
err-pool-rule = Правилу { $key } нужно: { $problem }.
err-pool-overdue = У вас просрочено обязательство этого пула: выполните его, прежде чем снова обещать взнос.
err-pledge-below-min = Наименьший взнос в этом пуле — { $amount }.
err-pledge-above-max = Наибольший взнос в этом пуле — { $amount }.
err-pool-no-pledge = У вас нет взноса в этом пуле.
err-pool-not-pledged = Подавать заявки и голосовать могут только участники со взносом в этом пуле.
err-pool-event = «{ $event }» — не случай, который покрывает этот пул: { $events }.
err-no-claim = Заявки #{ $id }, которую вы можете видеть, нет.
err-claim-wrong-room = Заявка #{ $id } относится к другому пулу: голосуйте там или в нашем личном чате.
err-claim-closed = Голосование по заявке #{ $id } закрыто.
err-own-claim = Нельзя голосовать по своей заявке.

## Инициативы (SPEC §3.4)
help-propose = предложить инициативу в этой комнате: цель, срок в днях и название; она состоится, только если поддержка достигнет цели
help-back = поддержать инициативу намерением (повторно — изменить); отозвать — withdraw #N
help-initiative = показать инициативу или (автору) изменить её цель, пока она активна
help-initiatives = активные инициативы этой комнаты
err-initiative-days = «{ $word }» — не число дней от 1 до { $max }.
err-no-initiative = Инициативы #{ $id }, которую вы можете видеть, нет.
err-initiative-wrong-room = Инициатива #{ $id } живёт в другой комнате: используйте её там или в нашем личном чате.
err-initiative-in-dm = Инициатива живёт в комнате, участники которой видят и поддерживают её: предложите её в такой комнате, а не в личном чате.
err-initiative-circle-room = Эта комната — круг, и её учёт — учёт круга. Предложите инициативу в отдельной комнате.
err-initiative-pool-room = Эта комната — пул, и её учёт — учёт пула. Предложите инициативу в отдельной комнате.
err-initiatives-in-room = Отправьте это в комнате, инициативы которой хотите увидеть.
err-initiative-funded = Инициатива #{ $id } уже собрана: её поддержка теперь обязательства.
err-initiative-lapsed = Инициатива #{ $id } не состоялась: её поддержка отменена.
err-initiative-ended = Срок инициативы #{ $id } истёк: её больше нельзя поддержать или изменить.
err-own-initiative = Инициативу #{ $id } предложили вы: её поддерживают другие.
err-not-the-proposer = Изменить цель инициативы #{ $id } может только её автор.
err-backing-use-back = #{ $id } — поддержка инициативы: изменить её можно командой back #I <сумма>; обязательством она станет, когда инициатива будет собрана.
initiative-card-title = 💡 Инициатива #{ $id }: «{ $title }», автор { $proposer }
initiative-card-figures = 🎯 цель { $goal } { $unit } · ❤️ поддержка { $backing } { $unit } от { $backers ->
    [one] { $backers } участника
   *[other] { $backers } участников
} · 🙏 ещё нужно { $remaining } { $unit }
initiative-card-active = ⏳ осталось { $days ->
    [one] { $days } день
    [few] { $days } дня
   *[other] { $days } дней
} (до { $deadline }) · 👍 интерес: { $interest }. Поддержать: { $prefix }back #{ $id } <сумма>; 👍 на этом сообщении показывает интерес и ни к чему не обязывает.
initiative-card-funded = ✅ Собрана: вся поддержка теперь обязательства перед { $proposer }, срок { $due }.
initiative-card-lapsed = ⌛ Не состоялась: цель не достигнута к сроку; вся поддержка отменена.
initiative-shown = Инициатива #{ $id }:
initiative-backed = ❤️ #{ $id }: вы поддерживаете инициативу #{ $initiative } суммой { $amount } { $unit } (намерение: пока инициатива активна, его можно отозвать — withdraw #{ $id }).
initiative-backed-funded = 🤝 #{ $id }: ваши { $amount } { $unit } собрали инициативу #{ $initiative }: теперь это обязательство.
initiatives-title = Активные инициативы этой комнаты:
initiatives-none = В этой комнате нет активных инициатив. Предложить: { $prefix }propose <цель> <дни> <название>.
initiatives-line = #{ $id } «{ $title }»: { $backing } из { $goal } { $unit }, участников: { $backers }, дней осталось: { $days }
notice-initiative-backed = ❤️ { $giver } поддерживает вашу инициативу #{ $initiative } «{ $title }» суммой { $amount } { $unit } (#{ $id }).
notice-initiative-funded-backer = 🤝 Инициатива #{ $initiative } «{ $title }» собрана: ваша поддержка #{ $id } на { $amount } { $unit } теперь обязательство перед { $proposer }, срок { $due }. Когда передадите, сообщите: { $prefix }paid #{ $id }.
notice-initiative-funded = ✅ Инициатива #{ $initiative } «{ $title }» собрана: участники должны { $proposer } обещанное.
notice-initiative-lapsed-backer = ⌛ Инициатива #{ $initiative } «{ $title }» не достигла цели: ваша поддержка #{ $id } на { $amount } { $unit } отменена.
notice-initiative-lapsed = ⌛ Инициатива #{ $initiative } «{ $title }» не достигла цели: вся поддержка отменена.
notice-initiative-left = { $giver } покинул(а) комнату: поддержка #{ $id } на { $amount } { $unit } инициативы #{ $initiative } «{ $title }» отозвана.

# Взаимозачёт (SPEC §3.5)
help-clearing = участвуют ли ваши обязательства в ежемесячном взаимозачёте и что изменил последний
help-keep = исключить одно из ваших обязательств из взаимозачёта
help-unkeep = снова включить одно из ваших обязательств во взаимозачёт
clearing-title = Взаимозачёт: обязательства зачтены по замкнутым цепочкам, платить нужно меньше, а баланс каждого не изменился. Ваши обязательства:
clearing-is-on = Ваши обязательства участвуют в ежемесячном взаимозачёте (чтобы выйти: { $prefix }clearing off).
clearing-is-off = Ваши обязательства не участвуют во взаимозачёте (чтобы участвовать: { $prefix }clearing on).
clearing-never = Взаимозачёт пока ничего не менял.
clearing-last = Последний взаимозачёт, { $at }, изменил эти ваши обязательства:
clearing-last-none = Последний взаимозачёт, { $at }, не изменил ни одного вашего обязательства.
clearing-cleared-given = 👍 Ваше обязательство #{ $id } перед { $owner } ({ $before } { $unit }) зачтено полностью и считается исполненным.
clearing-cleared-received = 👍 Обязательство #{ $id } от { $giver } ({ $before } { $unit }) зачтено полностью и считается исполненным.
clearing-reduced-given = 🤝 Ваше обязательство #{ $id } перед { $owner }: зачтено { $set_off } { $unit } (исполнено, #{ $part }), осталось заплатить { $after } { $unit } (было { $before }).
clearing-reduced-received = 🤝 Обязательство #{ $id } от { $giver }: зачтено { $set_off } { $unit } (исполнено, #{ $part }), осталось получить { $after } { $unit } (было { $before }).
clearing-set-on = Ваши открытые обязательства теперь участвуют во взаимозачёте, если в нём участвует и другая сторона.
clearing-set-off = Ваши обязательства больше не участвуют во взаимозачёте.
clearing-kept = #{ $id } исключено из взаимозачёта.
clearing-unkept = #{ $id } снова участвует во взаимозачёте.
clearing-unkept-other-keeps = Вы больше не исключаете #{ $id }, но его исключила другая сторона: оно остаётся вне взаимозачёта.
clearing-preview = Взаимозачёт сейчас: подходит обязательств: { $eligible } ({ $total } { $unit }); было бы зачтено { $cleared } { $unit } по { $changed } обязательствам (больше { $bound } { $unit } не зачесть никак). Ничего не изменено.
clearing-run = Взаимозачёт проведён: подходит обязательств: { $eligible } ({ $total } { $unit }); зачтено { $cleared } { $unit } по { $changed } обязательствам (больше { $bound } { $unit } не зачесть никак).
err-keep-wrong-room = #{ $id } относится к другой комнате: используйте команду там или в нашем личном чате.
err-keep-state = #{ $id }: { $state }; исключить из взаимозачёта или вернуть в него можно только ещё не исполненное обязательство.
err-clearing = Взаимозачёт не удалось рассчитать: { $reason }.

# Issue 18: flood control, the outbox's failing destinations, unreadable messages.
err-flooded = Вы отправляете команды быстрее, чем я их принимаю (не больше { $burst } сразу, затем { $per_minute } в минуту). Эта команда и следующие в ближайшие мгновения не выполнены; подождите немного и отправьте её снова.
err-not-a-destination = «{ $word }» — не ID комнаты (!…:сервер) и не ID пользователя (@…:сервер).
err-unreadable = Я не смог расшифровать это сообщение, поэтому оно не выполнено. Если это была команда, отправьте её снова (возможно, вашему клиенту нужно поделиться ключами с моим устройством).
admin-stats-destination-failing = ⚠️ { $destination }: ошибки с { $since } ({ $failures } попыток), ждут { $pending } сообщений — { $error }
admin-stats-destination-failed = ❌ { $destination }: отправка прекращена с { $since } ({ $failures } попыток), задержано { $pending } сообщений — { $error }. Используйте `admin outbox retry` или `admin outbox drop`.
admin-outbox-retried = Очередь: { $destination } — повторная отправка сейчас ({ $destinations } адресатов, { $messages } ранее отброшенных сообщений снова в очереди).
admin-outbox-dropped = Очередь: { $messages } сообщений для { $destination } удалены.
admin-outbox-all = все адресаты с ошибками
err-room-now-world-readable = Историю этой комнаты теперь можно читать без вступления, поэтому я не показываю здесь записи и платёжные данные. Снова сделайте историю видимой только участникам (настройки комнаты) или пишите мне в личный чат.
err-repeated = { $command } уже выполнялось только что; повторить можно через { $minutes } мин. Ничего не отправлено.
