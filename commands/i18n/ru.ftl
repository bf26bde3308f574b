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
err-command-too-long = Сообщение слишком длинное для команды (не больше { $max } байт).
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
