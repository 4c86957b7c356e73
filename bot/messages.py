"""Every sentence recallbot says to a user, in one place, shared by all platforms.

Values inserted here are plain text; each adapter escapes them for its markup. Each
constant is English, marked with ``N_`` for the catalogs (bot/i18n.py), and translated
where it is used: ``_(messages.START)``. Counted words use :func:`ngettext` here.
"""

from datetime import UTC, date, datetime

from bot.events import Reason
from bot.i18n import N_, _, format_date, format_datetime, format_number, ngettext

# --- usage and input errors ---------------------------------------------------
EMPTY_QUERY = N_("Tell me which {what} to look up, for example: /check PAC20-272")
LONG_QUERY = N_(
    "That is {length} characters; a model number or brand name is at most {limit}. "
    "Send just the model number printed on the device, for example: /check A1263"
)
WHAT_CHECK = N_("model or brand")
WHAT_FOLLOW = N_("brand, model or supplier")
CONTROL_CHARS = N_("That text contains control characters. Send the model number or brand as plain text.")
UNKNOWN_COMMAND = N_("I don't know the command /{name}. Send /help to see what I can do.")
NOT_A_COMMAND = N_("Commands start with a slash. Try /check PAC20-272, or /help.")
SUBSCRIBE_USAGE = N_(
    "Tell me what to follow: /subscribe brand Anker, /subscribe model A1263 or "
    "/subscribe supplier Amprius (the type may be left out)."
)
UNSUBSCRIBE_USAGE = N_(
    "Tell me what to stop following, for example: /unsubscribe Anker. /subscriptions lists what you follow."
)
MODEL_TOO_SHORT = N_("A model number needs at least two letters or digits; “{name}” is too short to follow.")
TOO_MANY_SUBSCRIPTIONS = N_(
    "This chat already follows {limit} brands, models and suppliers, the most I keep for one chat. "
    "Remove one with /unsubscribe before adding {name}."
)
INTERNAL_ERROR = N_("Sorry, something went wrong on my side while answering that. Please try again in a minute.")

# --- /start and /help ---------------------------------------------------------
START = N_(
    "Hi! I tell you when a product you own is recalled, and when a battery cell maker "
    "loses its safety certificate.\n\n"
    "Send /check with the model number printed on your device, for example /check PAC20-272. "
    "Send /subscribe with a brand, a model or a cell supplier and I will alert this chat when "
    "something new is recalled.\n\n/help lists every command."
)
HELP_NOTE = N_(
    "Model numbers are matched whatever the spacing or dashes: PAC20-272, pac20 272 and "
    "PAC20272 are the same. Data: the U.S. CPSC, EU Safety Gate, Health Canada, UK OPSS and Australian ACCC "
    "feeds, and community-curated notices of regulators with no feed, such as China's SAMR and CQC. "
    '"Yes" means a notice names your model number; "possibly" means a product name or '
    "a listed serial matches, so compare your label. Always confirm with the official notice linked in each "
    "answer, or with the report named where no official notice is online."
)
HELP = N_(
    "/check <model, product or brand> - is it recalled? e.g. /check A1263, /check Anker 535\n"
    "/check <model> <serial> - is my unit included? e.g. /check BI-B41 000G21\n"
    "/more - more matches of the last /check\n"
    "/subscribe [brand|model|supplier] <name> - get alerts, e.g. /subscribe brand Anker\n"
    "/unsubscribe <name> - stop alerts\n"
    "/subscriptions - what this chat follows\n"
    "/recent - the latest recalls and suspensions\n"
    "/status - when I last checked my sources, and how they are doing\n"
    "/language en|zh - answer in English or Chinese (中文)\n"
    "/settings - alerts as they come or in a daily digest, and quiet hours\n"
    "/forget - delete everything I keep about this chat (asks first)\n"
    "/help - this list"
)

# --- /check -------------------------------------------------------------------
RECALLED = N_("Yes: {model} is named in {count}.")
RECALLED_PART = N_("{model} is named in {count}")
RECALLED_MANY = N_("Yes: {parts}.")
RECALLED_BARCODE = N_("Yes: barcode {barcode} is listed in {count}.")
RECALLED_BARCODE_MODELS = N_("Yes: barcode {barcode} is listed in {count}, for model {models}.")
UNIT_COVERED = N_("Your unit {code} is among the units this recall lists.")
UNIT_NOT_COVERED = N_(
    "{code} is not among the serial numbers or date codes the notice lists, so your unit is probably not "
    "included; confirm with the contact below."
)
UNIT_UNKNOWN = N_("The notice lists no serial numbers or date codes I can test {code} against; use the contact below.")
UNIT_LIMITED = N_('Only some units are included: see "Which units" below.')
UNIT_TESTABLE = N_(
    "Only some units are included: send /check {model} followed by the serial number or date code on "
    'your label to test yours, or see "Which units" below.'
)
POSSIBLE_CODE = N_(
    "Possibly: {code} is a serial number or date code listed in {count}, for model {models}. "
    "Check that your label shows that model too."
)
POSSIBLE_CODE_NO_MODEL = N_(
    "Possibly: {code} is a serial number or date code listed in {count}. "
    "Check that the product name on your label matches too."
)
RECALLED_SUPPLIER = N_("{supplier}: {count} on record.")
NO_MODEL = N_("No recall I know of names {model}.")
BRAND_LIST = N_("{brand} has {count} on record, below.")
BRAND_LINKED_ONLY = N_(
    "{brand}: no recall of its own is on record, but {brand} is named as a customer of a battery cell "
    "supplier whose certificate was suspended (below)."
)
NOT_FOUND = N_("No recall or supplier suspension I know of matches {query}.")
NOT_FOUND_HINT = N_("Check the exact model number on the label (often on the bottom or back).")
DID_YOU_MEAN = N_("Did you mean: {options}?")
THIS_BRAND = N_("This brand")
OR = N_(" or ")
SUSPENSION_NOTE = N_("Note: {brand} is linked to a battery cell supplier whose certificate was suspended:")
MORE_MATCHES = N_("...and {count} more: send /more to see them.")
MORE_NONE = N_("There is nothing more to show: send /check with a model number or a product name first.")
MORE_HEADER = N_("More for {query} ({first}-{last} of {total}):")
REASON_MODEL = N_("model {label} is named in this notice")
REASON_BARCODE = N_("barcode {label} is listed in this notice")
REASON_CODE = N_("{label} is listed in this notice as a serial number or date code of the units covered")
REASON_PRODUCT = N_("the product name matches {words}")
REASON_PRODUCT_PART = N_("the product name matches {words} (not every word you sent)")
REASON_BRAND = N_("brand {label}")
REASON_SUPPLIER = N_("supplier {label}")
REASON_LINKED = N_("{brand} is named as a customer of this supplier")
COMPARE_MODELS = N_("the model number on your label against {models}")
COMPARE_CODES = N_("the serial number or date code against {codes}")
COMPARE_NAME = N_("the brand and product name on your label (the notice gives no model number)")
BUTTON_MORE = N_("More")
BUTTON_CHECK_SERIAL = N_("Check my serial")
SERIAL_USAGE = N_("Tell me the model first, for example: /serial BI-B41")
SERIAL_HOW = N_(
    "Send /check {model} followed by the serial number or date code on your label, for example "
    "/check {model} {example}. Which units are covered: {limits}"
)
SERIAL_NONE = N_("The notices I have for {model} list no serial numbers or date codes to test; {limits}")

# --- coverage -------------------------------------------------------------------
FAMILY_NAMES = {
    "cpsc": N_("U.S. CPSC recalls"),
    "eu_safety_gate": N_("EU Safety Gate alerts"),
    "health_canada": N_("Health Canada recalls (found by product name: the feed names no models)"),
    "uk_opss": N_("UK OPSS product safety notices"),
    "accc": N_("Australia ACCC recalls (the feed gives only its newest ~100)"),
    "curated": N_("community-curated notices (China's regulators and others with no feed)"),
}
FAMILY_OTHER = N_("records from {family}")
COVERAGE_RANGE = N_("{count} {name} from {first} to {last}")
COVERAGE_COUNT = N_("{count} {name}")
COVERAGE = N_("I looked in {parts}; {age}. Not being listed does not mean a product is safe.")
COVERAGE_LIVE = N_("live sources last read {when}")
COVERAGE_BUNDLED = N_("that is the bundled data: no live source has been read yet, so nothing newer is known")
COVERAGE_EMPTY = N_("I have no recall data loaded yet, so I cannot say anything about this product.")


def coverage_part(family: str, count: int, first: date | None, last: date | None) -> str:
    """Return "589 U.S. CPSC recalls from Dec 7, 2023 to Mar 26, 2026" for one source family."""
    name = _(FAMILY_NAMES[family]) if family in FAMILY_NAMES else _(FAMILY_OTHER).format(family=family)
    if first and last:
        return _(COVERAGE_RANGE).format(
            count=format_number(count), name=name, first=format_date(first), last=format_date(last)
        )
    return _(COVERAGE_COUNT).format(count=format_number(count), name=name)


def coverage_line(parts: list[str], live_read_at: str | None) -> str:
    """Return the coverage sentence every "No" and brand answer ends with."""
    if not parts:
        return _(COVERAGE_EMPTY)
    joined = listing(parts)
    if live_read_at is None:
        return _(COVERAGE).format(parts=joined, age=_(COVERAGE_BUNDLED))
    when = format_datetime(datetime.fromisoformat(live_read_at).astimezone(UTC))
    return _(COVERAGE).format(parts=joined, age=_(COVERAGE_LIVE).format(when=when))


def listing(parts: list[str]) -> str:
    """Return "a, b and c" in the current language."""
    if len(parts) < 2:
        return "".join(parts)
    return _(LIST_LAST).format(head=_(LIST_SEPARATOR).join(parts[:-1]), last=parts[-1])


LIST_SEPARATOR = N_(", ")
LIST_LAST = N_("{head} and {last}")


# --- events -------------------------------------------------------------------
UNKNOWN = N_("not stated in the source")
REMEDY_MISPLACED = N_(
    "the source's text here is about another product, so it is left out: follow the official notice, or ask "
    "the company under Contact"
)
LABEL_DATE = N_("Date")
LABEL_AUTHORITY = N_("Authority")
LABEL_MODELS = N_("Models")
LABEL_UNITS = N_("Units")
LABEL_HAZARD = N_("Hazard")
LABEL_REMEDY = N_("What to do")
LABEL_SUPPLIER = N_("Supplier")
LABEL_CERTIFICATE = N_("Certificate")
LABEL_REASON = N_("Reason")
LABEL_BRANDS = N_("Brands using its cells")
LABEL_SOURCE = N_("Source")
LABEL_LINK = N_("Official notice")
LABEL_REPORTED = N_("Reported by")
LABEL_LIMITS = N_("Which units")
LABEL_CONTACT = N_("Contact")
LABEL_COMPARE = N_("Compare")
LABEL_CHANGES = N_("What changed")
LABEL_ALSO = N_("Also recalled in")
LABEL_LICENCE = N_("Licence")
CHANGE_ADDED = N_("{label} added: {values}")
CHANGE_NOW = N_("{label} now: {value}")
LABEL_WHY = N_("Why")
COLON = N_(": ")  # between a label and its value
LABEL_QUOTED = N_("Notice text")
QUOTED = N_("quoted in {language}, as the source published it")
HEADING_RECALL = N_("RECALL: {name}")
HEADING_SUSPENSION = N_("SUPPLIER SUSPENSION: {supplier}")
NEXT = N_("Next: {commands}")
POTENTIALLY_AFFECTED = N_("Potentially affected: the notice does not say which products hold these cells.")

# --- subscriptions ------------------------------------------------------------
SUBSCRIBED = N_("Done: this chat now follows {kind} {name}. I will send an alert when something new is recalled.")
ALREADY_SUBSCRIBED = N_("This chat already follows {kind} {name}.")
SUBSCRIBE_UNKNOWN = N_(
    "I know no brand, model or supplier called {name}. Did you mean {options}? Pick one below, or follow {name} anyway."
)
SUBSCRIBED_UNKNOWN = N_("Nothing is on record for {name} yet; I will alert this chat when a notice names it.")
BUTTON_FOLLOW = N_("Follow {name}")
BUTTON_FOLLOW_ANYWAY = N_("Follow {name} anyway")
SUBSCRIBED_EXISTING = N_("Already on record for {name}, below.")
SUBSCRIBED_NONE = N_("Nothing is on record for {name} yet.")
UNSUBSCRIBED = N_("Done: this chat no longer follows {names}.")
NOT_SUBSCRIBED = N_("This chat does not follow {name}. /subscriptions lists what it follows.")
NO_SUBSCRIPTIONS = N_("This chat follows nothing yet. Try /subscribe brand Anker.")
SUBSCRIPTIONS = N_("This chat follows:")
BUTTON_SUBSCRIBE_MODEL = N_("Subscribe to this model")
BUTTON_SUBSCRIBE_BRAND = N_("Subscribe to this brand")
BUTTON_SUBSCRIBE_SUPPLIER = N_("Subscribe to this supplier")
BUTTON_UNSUBSCRIBE = N_("Unsubscribe")
BUTTON_UNSUBSCRIBE_NAME = N_("Unsubscribe {name}")
BUTTON_SUGGESTION = N_("{name}?")
TWO_SENTENCES = N_("{first} {second}")  # Chinese sets no space between sentences


def sentences(*parts: str | None) -> str:
    """Return sentences one after the other, as the current language writes them."""
    text = ""
    for part in parts:
        if part:
            text = _(TWO_SENTENCES).format(first=text, second=part) if text else part
    return text


# --- /recent ------------------------------------------------------------------
RECENT = N_("The latest recalls and supplier suspensions:")
RECENT_NONE = N_("No recalls are on record yet.")


def recalls(count: int) -> str:
    """Return "1 recall" or "3 recalls"."""
    return ngettext("{count} recall", "{count} recalls", count).format(count=format_number(count))


def notices(count: int) -> str:
    """Return "1 notice" or "3 notices"."""
    return ngettext("{count} notice", "{count} notices", count).format(count=format_number(count))


def suspensions(count: int) -> str:
    """Return "1 certificate suspension" or "2 certificate suspensions"."""
    return ngettext("{count} certificate suspension", "{count} certificate suspensions", count).format(
        count=format_number(count)
    )


def records(count: int) -> str:
    """Return "1 record" or "1,234 records"."""
    return ngettext("{count} record", "{count} records", count).format(count=format_number(count))


def kind_word(kind: str) -> str:
    """Return "brand", "model" or "supplier" in the current language."""
    return _(KIND_WORDS[kind]) if kind in KIND_WORDS else kind


KIND_WORDS = {"brand": N_("brand"), "model": N_("model"), "supplier": N_("supplier")}


# --- alerts -------------------------------------------------------------------
WHY_FOLLOW = N_("you follow {kind} {name}")
WHY_LINKED = N_("you follow brand {name}, named as a customer of {supplier} (potentially affected)")
WHY_LINKED_MODEL = N_(
    "you follow model {name}, a {brand} model; {brand} is named as a customer of {supplier} (potentially affected)"
)
ALERT_NEW_RECALL = N_("New recall")
ALERT_UPDATED_RECALL = N_("Recall updated")
ALERT_NEW_SUSPENSION = N_("Supplier certificate suspended")
ALERT_UPDATED_SUSPENSION = N_("Supplier suspension updated")
DIGEST_MORE = N_("...and {count} more: {names}")


def digest_title(count: int) -> str:
    """Return the first line of a daily digest."""
    return ngettext("Your daily digest: {count} alert", "Your daily digest: {count} alerts", count).format(
        count=format_number(count)
    )


# --- /status ------------------------------------------------------------------
STATUS_HEADER = N_("Checker: last check {last}, next check {next}. Alerts waiting to be sent: {depth}.")
STATUS_NEVER = N_("never")
STATUS_NO_SOURCES = N_("No live sources have been checked yet (the bundled dataset is always loaded).")
STATUS_SOURCE = N_("- {name}: {held}; last success {success}; {failures} failures in a row{error}{backoff}")
STATUS_BUNDLED = N_("- {name} (bundled with recallbot): {held}")
STATUS_HELD_RANGE = N_("{count} dated {first} to {last}")
STATUS_ERROR = N_("; last error {at}: {error}")
STATUS_BACKOFF = N_("; backing off until {at}")

# --- /settings: digest and quiet hours ---------------------------------------------
SETTINGS_NOW = N_("This chat gets its alerts {mode}. {quiet} Hours are in the time zone {zone}.")
MODE_INSTANT = N_("as they come")
MODE_DIGEST = N_(
    "in one digest a day at {hour}:00, except serious hazards (fire, burns, electric shock, choking, death), "
    "which come at once"
)
MODE_DIGEST_ALL = N_("in one digest a day at {hour}:00, serious hazards included")
QUIET_OFF = N_("No quiet hours.")
QUIET_ON = N_("Quiet hours from {start}:00 to {end}:00: alerts wait until they end, except serious hazards.")
SETTINGS_HOW = N_(
    "Change it with /settings instant, /settings digest 9, /settings digest-all 9, /settings quiet 22 7, "
    "/settings quiet off or /settings zone Asia/Shanghai."
)
SETTINGS_SAVED = N_("Saved.")
SETTINGS_USAGE = N_("I did not understand “{text}”.")
UNKNOWN_ZONE = N_(
    "I don't know the time zone “{zone}”. Use a name like Europe/Berlin, America/New_York or Asia/Shanghai."
)
BAD_HOUR = N_("An hour is a whole number from 0 to 23, like 9 or 22.")
BUTTON_INSTANT = N_("Alerts as they come")
BUTTON_DIGEST = N_("Daily digest at 9:00")
BUTTON_QUIET = N_("Quiet hours 22:00 to 7:00")
BUTTON_QUIET_OFF = N_("No quiet hours")

# --- /language ---------------------------------------------------------------
LANGUAGE_EN = N_("English")
LANGUAGE_ZH = N_("Simplified Chinese")
LANGUAGE_NAMES = {"en": LANGUAGE_EN, "zh_Hans": LANGUAGE_ZH}  # by i18n.LANGUAGES
LANGUAGE_USAGE = N_(
    "This chat is answered in {current}. Send /language en for English or /language zh for Chinese "
    "(中文), or tap below."
)
LANGUAGE_SET = N_("Done: this chat is now answered and alerted in {language}, alerts already waiting included.")

# --- photos --------------------------------------------------------------------
PHOTO_CANDIDATES = N_(
    "I read {models} on the label. Tap the one printed as the model number and I will check it "
    "(photos mix up 1 and I, 0 and O: compare with your label)."
)
PHOTO_NO_MATCH = N_(
    "I read {models} on the label, and no recall I know of names them. Tap one to check it anyway, or "
    "send the model number as text."
)
PHOTO_NOTHING = N_(
    "I could not read a barcode or a model number in that photo. Try again in good light, with the label "
    "in focus and filling the picture (it is usually on the bottom or the back), or send the model number "
    "as text, for example /check A1263."
)
PHOTO_NO_OCR = N_(
    "I found no barcode in that photo, and this bot cannot read label text (its operator has not installed "
    "the photos extra). Send the model number printed on the label as text, for example /check A1263."
)
PHOTO_BUSY = N_("I am still reading the last photo sent here; send the next one when I have answered.")
PHOTO_UNREADABLE = N_("I could not open that picture. Send a photo (JPEG or PNG) of the label or its barcode.")
PHOTO_BARCODE_UNLISTED = N_(
    "Most notices list model numbers rather than barcodes: send /check with the model number printed on the label too."
)
PHOTO_FULL = N_("I am reading many photos right now; please send yours again in a minute.")
PHOTO_TOO_LARGE = N_(
    "That file is {size} MB, more than the {limit} MB I can read. Send it as a photo rather than a file, "
    "or a smaller picture."
)
PHOTO_NOT_IMAGE = N_("That attachment is not a picture. Send a photo of the label or its barcode.")
BUTTON_CHECK = N_("Check {model}")

# --- groups and buttons ---------------------------------------------------------
GROUP_ADMIN_ONLY = N_(
    "In a group, only its administrators can change what it follows. Ask an admin to send "
    "the command; anyone can still /check a model."
)

# --- Discord --------------------------------------------------------------------
SERVER_MANAGE_ONLY = N_(
    "In a server, only members with the Manage Server permission can change what a channel follows. "
    "Ask one of them; anyone can still /check a model."
)
DISCORD_HELP = N_(
    "/check model: - is it recalled? e.g. /check model: A1263, or a product name: Anker 535\n"
    "/check model: <model> <serial> - is my unit included? e.g. /check model: BI-B41 000G21\n"
    "/more - more matches of the last /check\n"
    "/subscribe name: [type:] [channel:] - get alerts here, or in the channel given "
    "(in a server: Manage Server permission)\n"
    "/unsubscribe name: - stop alerts\n"
    "/subscriptions - what this channel follows\n"
    "/recent - the latest recalls and suspensions\n"
    "/status - when I last checked my sources, and how they are doing\n"
    "/language en|zh - answer in English or Chinese (中文)\n"
    "/settings change: - alerts as they come or in a daily digest, and quiet hours\n"
    "/forget - delete everything I keep about this channel (asks first; in a server: Manage Server permission)\n"
    "/help - this list"
)
DM_NO_CHANNEL = N_("In a direct message the alerts come here; leave out the channel option.")
CHANNEL_NOT_USABLE = N_(
    "I can only alert a text channel of this server; pick one from the list, or leave the option out."
)


def why(reasons: tuple[Reason, ...]) -> str:
    """Return why a destination is alerted, worded in the current language."""
    return _(REASON_SEPARATOR).join(_why_one(reason) for reason in reasons)


def _why_one(reason: Reason) -> str:
    if not reason.kind:  # a reason queued before reasons were data, as it was worded then
        return reason.name
    if reason.supplier and reason.brand:
        return _(WHY_LINKED_MODEL).format(name=reason.name, brand=reason.brand, supplier=reason.supplier)
    if reason.supplier:
        return _(WHY_LINKED).format(name=reason.name, supplier=reason.supplier)
    return _(WHY_FOLLOW).format(kind=kind_word(reason.kind), name=reason.name)


REASON_SEPARATOR = N_("; ")


def help_text(commands: str) -> str:
    """Return a command list (HELP or DISCORD_HELP) with the note on matching and data."""
    return f"{_(commands)}\n\n{_(HELP_NOTE)}"


def possible_product(count: int, query: str, with_models: bool) -> str:
    """Return the "Possibly" line of a product-name match; without models, it sends the owner to the company."""
    if with_models:
        template = ngettext(
            'Possibly: {count} recall names a product matching "{query}", but not a model number you gave. '
            'Compare your label with the "Compare" line of the notice below.',
            'Possibly: {count} recalls name a product matching "{query}", but not a model number you gave. '
            'Compare your label with the "Compare" line of each notice below.',
            count,
        )
    else:  # a "Compare" line would only repeat the brand and name the user typed
        template = ngettext(
            'Possibly: {count} recall names a product matching "{query}", and the notice gives no model number '
            'to check your label against. Ask the company under "Contact" whether your unit is included.',
            'Possibly: {count} recalls name a product matching "{query}", and the notices give no model number '
            'to check your label against. Ask the company under "Contact" whether your unit is included.',
            count,
        )
    return template.format(count=format_number(count), query=query)


# --- /forget and limits (issue 15) ----------------------------------------------
FORGET_COUNTS = N_("subscriptions: {subscriptions}, alerts waiting to be sent: {pending}, alerts already sent: {sent}")
FORGET_ASK = N_(
    "This deletes everything I keep about this chat ({counts}), its settings such as the language, and its "
    "last /check. Alerts here stop until someone subscribes again, and it cannot be undone: tap the button "
    "below to confirm."
)
FORGET_NOTHING = N_(
    "I keep nothing about this chat: no subscriptions, alerts, settings or /check answers, so there is nothing "
    "to delete."
)
FORGET_DONE = N_(
    "Done: I deleted everything I kept about this chat ({counts}), and any settings and /check answer it had. "
    "Send /subscribe to follow something again."
)
BUTTON_FORGET = N_("Delete everything")
TOO_MANY_COMMANDS = N_(
    "Too many commands: this chat sent more than {limit} in {seconds} seconds, so I am ignoring its commands "
    "for up to {seconds} seconds; send yours again after that."
)


# --- CLI (issue 15) -------------------------------------------------------------
STATUS_HEADER_STOPPED = N_(
    "Checker: last check {last}; no instance is running, so no check is planned (start one with recallbot run). "
    "Alerts waiting to be sent: {depth}."
)


# --- operator notices (issue 15) --------------------------------------------------
NOTICE_SOURCE_DOWN = N_(
    "⚠️ recallbot: source {source} has failed at every read since {since} ({failures}). The last error: {error}\n"
    "Answers still say how old their data is, and what the source publishes meanwhile is read once it is back."
)
NOTICE_SOURCE_BACK = N_("✅ recallbot: source {source} is read again, after failing for {duration}.")
NOTICE_SOURCE_DROPPED = N_(
    "✅ recallbot: source {source} is no longer read (it was taken out of the configuration), so it is no longer "
    "reported down."
)
NOTICE_PAUSED = N_(
    "⚠️ recallbot: alerts to {platform} chat {address} are paused since {since}: {reason}\nIts people did not "
    "block the bot: check that the chat exists and that the bot may post there. Its subscriptions are kept."
)
NOTICE_RESUMED = N_("✅ recallbot: alerts to {platform} chat {address} are sent again, after a pause of {duration}.")
NOTICE_FORGOTTEN = N_(
    "✅ recallbot: {platform} chat {address} is no longer paused: what was stored about it has been deleted "
    "(/forget, or its server removed the bot)."
)
NOTICE_PAUSED_MANY = N_(
    "⚠️ recallbot: alerts to {count} chats were paused at once, for reasons other than their people blocking the "
    "bot; for example {examples}. Their subscriptions are kept. The incident table lists each one, and I say "
    "so here when none is paused any more."
)
NOTICE_PAUSED_MANY_ENDED = N_(
    "✅ recallbot: none of the chats paused at once is paused any more (each was resumed, or its data deleted). "
    "It lasted {duration}."
)
NOTICE_OUTBOX_STALE = N_("⚠️ recallbot: an alert has waited to be sent since {since}; {waiting}. {why}")
NOTICE_OUTBOX_ERROR = N_("Its last send failed: {error}")
NOTICE_OUTBOX_NO_ERROR = N_("No send of it has failed: is an instance running, and is it keeping up?")
NOTICE_OUTBOX_MOVING = N_("✅ recallbot: no alert has waited over {wait} now. The delay lasted {duration}.")
NOTICE_GUARD = N_(
    "⚠️ recallbot: {platform} answered {count} requests with 401, 403 or 429 within {minutes} minutes, so "
    "instance {instance} stopped sending to it for {seconds} seconds, before the platform could ban the bot. "
    "Look for a wrong token or channels the bot lost its rights in."
)
NOTICE_GUARD_CLEARED = N_(
    "✅ recallbot: instance {instance} sends to {platform} again, after holding back for {duration}."
)
NOTICE_GUARD_STOPPED = N_(
    "✅ recallbot: instance {instance}, which held back its sends to {platform}, has stopped (after {duration})."
)


def failures(count: int) -> str:
    """Return "1 failure" or "6 failures in a row"."""
    return ngettext("{count} failure", "{count} failures in a row", count).format(count=format_number(count))


def alerts_waiting(count: int) -> str:
    """Return "1 alert is waiting" or "3 alerts are waiting in all"."""
    return ngettext("{count} alert is waiting", "{count} alerts are waiting in all", count).format(
        count=format_number(count)
    )
