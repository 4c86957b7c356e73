"""Every sentence recallbot says to a user, in one place, shared by all platforms.

Values inserted here are plain text; each adapter escapes them for its markup.
"""

from datetime import UTC, datetime

# --- usage and input errors ---------------------------------------------------
EMPTY_QUERY = "Tell me which {what} to look up, for example: /check PAC20-272"
LONG_QUERY = (
    "That is {length} characters; a model number or brand name is at most {limit}. "
    "Send just the model number printed on the device, for example: /check A1263"
)
CONTROL_CHARS = "That text contains control characters. Send the model number or brand as plain text."
UNKNOWN_COMMAND = "I don't know the command /{name}. Send /help to see what I can do."
NOT_A_COMMAND = "Commands start with a slash. Try /check PAC20-272, or /help."
SUBSCRIBE_USAGE = (
    "Tell me what to follow: /subscribe brand Anker, /subscribe model A1263 or "
    "/subscribe supplier Amprius (the type may be left out)."
)
UNSUBSCRIBE_USAGE = (
    "Tell me what to stop following, for example: /unsubscribe Anker. /subscriptions lists what you follow."
)
MODEL_TOO_SHORT = "A model number needs at least two letters or digits; {name!r} is too short to follow."
TOO_MANY_SUBSCRIPTIONS = (
    "This chat already follows {limit} brands, models and suppliers, the most I keep for one chat. "
    "Remove one with /unsubscribe before adding {name}."
)
INTERNAL_ERROR = "Sorry, something went wrong on my side while answering that. Please try again in a minute."

# --- /start and /help ---------------------------------------------------------
START = (
    "Hi! I tell you when a product you own is recalled, and when a battery cell maker "
    "loses its safety certificate.\n\n"
    "Send /check with the model number printed on your device, for example /check PAC20-272. "
    "Send /subscribe with a brand, a model or a cell supplier and I will alert this chat when "
    "something new is recalled.\n\n/help lists every command."
)
HELP_NOTE = (
    "Model numbers are matched whatever the spacing or dashes: PAC20-272, pac20 272 and "
    "PAC20272 are the same. Data: the U.S. CPSC and community-curated notices from other "
    'regulators. "Yes" means a notice names your model number; "possibly" means a product name or '
    "a listed serial matches, so compare your label. Always confirm with the official notice linked in each "
    "answer, or with the report named where no official notice is online."
)
HELP = (
    "/check <model, product or brand> - is it recalled? e.g. /check A1263, /check Anker 535\n"
    "/check <model> <serial> - is my unit included? e.g. /check BI-B41 000G21\n"
    "/more - more matches of the last /check\n"
    "/subscribe [brand|model|supplier] <name> - get alerts, e.g. /subscribe brand Anker\n"
    "/unsubscribe <name> - stop alerts\n"
    "/subscriptions - what this chat follows\n"
    "/recent - the latest recalls and suspensions\n"
    "/status - when I last checked my sources, and how they are doing\n"
    "/help - this list\n\n" + HELP_NOTE
)

# --- /check -------------------------------------------------------------------
RECALLED = "Yes: {model} is named in {count}."
RECALLED_PART = "{model} is named in {count}"
RECALLED_MANY = "Yes: {parts}."
RECALLED_BARCODE = "Yes: barcode {barcode} is listed in {count}."
RECALLED_BARCODE_MODELS = "Yes: barcode {barcode} is listed in {count}, for model {models}."
UNIT_COVERED = "Your unit {code} is among the units this recall lists."
UNIT_NOT_COVERED = (
    "{code} is not among the serial numbers or date codes the notice lists, so your unit is probably not "
    "included; confirm with the contact below."
)
UNIT_UNKNOWN = "The notice lists no serial numbers or date codes I can test {code} against; use the contact below."
UNIT_LIMITED = 'Only some units are included: see "Which units" below.'
UNIT_TESTABLE = (
    "Only some units are included: send /check {model} followed by the serial number or date code on "
    'your label to test yours, or see "Which units" below.'
)
POSSIBLE_PRODUCT = (
    'Possibly: {count} {verb} a product matching "{query}", but not a model number you gave. '
    'Compare your label with the "Compare" line of each notice below.'
)
POSSIBLE_PRODUCT_NO_MODEL = (
    'Possibly: {count} {verb} a product matching "{query}", and {notices} no model number to check your '
    'label against. Ask the company under "Contact" whether your unit is included.'
)
POSSIBLE_CODE = (
    "Possibly: {code} is a serial number or date code listed in {count}, for model {models}. "
    "Check that your label shows that model too."
)
POSSIBLE_CODE_NO_MODEL = (
    "Possibly: {code} is a serial number or date code listed in {count}. "
    "Check that the product name on your label matches too."
)
RECALLED_SUPPLIER = "{supplier}: {count} on record."
NO_MODEL = "No recall I know of names {model}."
BRAND_LIST = "{brand} has {count} on record, below."
BRAND_LINKED_ONLY = (
    "{brand}: no recall of its own is on record, but {brand} is named as a customer of a battery cell "
    "supplier whose certificate was suspended (below)."
)
NOT_FOUND = "No recall or supplier suspension I know of matches {query}."
NOT_FOUND_HINT = "Check the exact model number on the label (often on the bottom or back)."
DID_YOU_MEAN = "Did you mean: {options}?"
SUSPENSION_NOTE = "Note: {brand} is linked to a battery cell supplier whose certificate was suspended:"
MORE_MATCHES = "...and {count} more: send /more to see them."
MORE_NONE = "There is nothing more to show: send /check with a model number or a product name first."
MORE_HEADER = "More for {query} ({first}-{last} of {total}):"
REASON_MODEL = "model {label} is named in this notice"
REASON_BARCODE = "barcode {label} is listed in this notice"
REASON_CODE = "{label} is listed in this notice as a serial number or date code of the units covered"
REASON_PRODUCT = "the product name matches {words}"
REASON_PRODUCT_PART = "the product name matches {words} (not every word you sent)"
REASON_BRAND = "brand {label}"
REASON_SUPPLIER = "supplier {label}"
REASON_LINKED = "{brand} is named as a customer of this supplier"
COMPARE_MODELS = "the model number on your label against {models}"
COMPARE_CODES = "the serial number or date code against {codes}"
COMPARE_NAME = "the brand and product name on your label (the notice gives no model number)"
BUTTON_MORE = "More"
BUTTON_CHECK_SERIAL = "Check my serial"
SERIAL_USAGE = "Tell me the model first, for example: /serial BI-B41"
SERIAL_HOW = (
    "Send /check {model} followed by the serial number or date code on your label, for example "
    "/check {model} {example}. Which units are covered: {limits}"
)
SERIAL_NONE = "The notices I have for {model} list no serial numbers or date codes to test; {limits}"

# --- coverage -------------------------------------------------------------------
FAMILY_NAMES = {
    "cpsc": "U.S. CPSC recalls",
    "eu_safety_gate": "EU Safety Gate alerts",
    "health_canada": "Health Canada recalls (found by product name: the feed names no models)",
    "uk_opss": "UK OPSS product safety notices",
    "accc": "Australia ACCC recalls (the feed gives only its newest ~100)",
    "curated": "community-curated notices (China's regulators and others with no feed)",
}
COVERAGE_RANGE = "{count} {name} from {first} to {last}"
COVERAGE_COUNT = "{count} {name}"
COVERAGE = "I looked in {parts}; {age}. Not being listed does not mean a product is safe."
COVERAGE_LIVE = "live sources last read {when}"
COVERAGE_BUNDLED = "that is the bundled data: no live source has been read yet, so nothing newer is known"
COVERAGE_EMPTY = "I have no recall data loaded yet, so I cannot say anything about this product."


def coverage_part(family: str, count: int, first: object, last: object) -> str:
    """Return "589 U.S. CPSC recalls from 2023-12-07 to 2026-03-26" for one source family."""
    name = FAMILY_NAMES.get(family, f"records from {family}")
    if first and last:
        return COVERAGE_RANGE.format(count=f"{count:,}", name=name, first=first, last=last)
    return COVERAGE_COUNT.format(count=f"{count:,}", name=name)


def coverage_line(parts: list[str], live_read_at: str | None) -> str:
    """Return the coverage sentence every "No" and brand answer ends with."""
    if not parts:
        return COVERAGE_EMPTY
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if live_read_at is None:
        return COVERAGE.format(parts=joined, age=COVERAGE_BUNDLED)
    when = datetime.fromisoformat(live_read_at).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return COVERAGE.format(parts=joined, age=COVERAGE_LIVE.format(when=when))


# --- events -------------------------------------------------------------------
UNKNOWN = "not stated in the source"
LABEL_DATE = "Date"
LABEL_AUTHORITY = "Authority"
LABEL_MODELS = "Models"
LABEL_UNITS = "Units"
LABEL_HAZARD = "Hazard"
LABEL_REMEDY = "What to do"
LABEL_SUPPLIER = "Supplier"
LABEL_CERTIFICATE = "Certificate"
LABEL_REASON = "Reason"
LABEL_BRANDS = "Brands using its cells"
LABEL_SOURCE = "Source"
LABEL_LINK = "Official notice"
LABEL_REPORTED = "Reported by"
LABEL_LIMITS = "Which units"
LABEL_CONTACT = "Contact"
LABEL_COMPARE = "Compare"
LABEL_CHANGES = "What changed"
LABEL_ALSO = "Also recalled in"
LABEL_LICENCE = "Licence"
CHANGE_ADDED = "{label} added: {values}"
CHANGE_NOW = "{label} now: {value}"
LABEL_WHY = "Why"
POTENTIALLY_AFFECTED = "Potentially affected: the notice does not say which products hold these cells."

# --- subscriptions ------------------------------------------------------------
SUBSCRIBED = "Done: this chat now follows {kind} {name}. I will send an alert when something new is recalled."
ALREADY_SUBSCRIBED = "This chat already follows {kind} {name}."
SUBSCRIBE_UNKNOWN = (
    "I know no brand, model or supplier called {name}. Did you mean {options}? Pick one below, or follow {name} anyway."
)
SUBSCRIBED_UNKNOWN = "Nothing is on record for {name} yet; I will alert this chat when a notice names it."
BUTTON_FOLLOW = "Follow {name}"
BUTTON_FOLLOW_ANYWAY = "Follow {name} anyway"
SUBSCRIBED_EXISTING = "Already on record for {name}, below."
SUBSCRIBED_NONE = "Nothing is on record for {name} yet."
UNSUBSCRIBED = "Done: this chat no longer follows {names}."
NOT_SUBSCRIBED = "This chat does not follow {name}. /subscriptions lists what it follows."
NO_SUBSCRIPTIONS = "This chat follows nothing yet. Try /subscribe brand Anker."
SUBSCRIPTIONS = "This chat follows:"
BUTTON_SUBSCRIBE_MODEL = "Subscribe to this model"
BUTTON_SUBSCRIBE_BRAND = "Subscribe to this brand"
BUTTON_SUBSCRIBE_SUPPLIER = "Subscribe to this supplier"
BUTTON_UNSUBSCRIBE = "Unsubscribe"

# --- /recent ------------------------------------------------------------------
RECENT = "The latest recalls and supplier suspensions:"
RECENT_NONE = "No recalls are on record yet."


def plural(count: int, one: str, many: str | None = None) -> str:
    """Return "1 recall" or "3 recalls"."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


# --- alerts -------------------------------------------------------------------
WHY_BRAND = "you follow brand "
WHY_MODEL = "you follow model "
WHY_SUPPLIER = "you follow supplier "
WHY_LINKED = ", named as a customer of {supplier} (potentially affected)"
WHY_LINKED_MODEL = ", a {brand} model; {brand} is named as a customer of {supplier} (potentially affected)"
ALERT_NEW_RECALL = "New recall"
ALERT_UPDATED_RECALL = "Recall updated"
ALERT_NEW_SUSPENSION = "Supplier certificate suspended"
ALERT_UPDATED_SUSPENSION = "Supplier suspension updated"


# --- /status ------------------------------------------------------------------
STATUS_HEADER = "Checker: last check {last}, next check {next}. Alerts waiting to be sent: {depth}."
STATUS_NEVER = "never"
STATUS_NO_SOURCES = "No live sources have been checked yet (the bundled dataset is always loaded)."
STATUS_SOURCE = "- {name}: {held}; last success {success}; {failures} failures in a row{error}{backoff}"
STATUS_BUNDLED = "- {name} (bundled with recallbot): {held}"
STATUS_HELD_RANGE = "{count} dated {first} to {last}"
STATUS_ERROR = "; last error {at}: {error}"
STATUS_BACKOFF = "; backing off until {at}"

# --- groups and buttons ---------------------------------------------------------
GROUP_ADMIN_ONLY = (
    "In a group, only its administrators can change what it follows. Ask an admin to send "
    "the command; anyone can still /check a model."
)
BUTTON_MANAGE = "Unsubscribe"

# --- Discord --------------------------------------------------------------------
SERVER_MANAGE_ONLY = (
    "In a server, only members with the Manage Server permission can change what a channel follows. "
    "Ask one of them; anyone can still /check a model."
)
DISCORD_HELP = (
    "/check model: - is it recalled? e.g. /check model: A1263, or a product name: Anker 535\n"
    "/check model: <model> <serial> - is my unit included? e.g. /check model: BI-B41 000G21\n"
    "/more - more matches of the last /check\n"
    "/subscribe name: [type:] [channel:] - get alerts here, or in the channel given "
    "(in a server: Manage Server permission)\n"
    "/unsubscribe name: - stop alerts\n"
    "/subscriptions - what this channel follows\n"
    "/recent - the latest recalls and suspensions\n"
    "/status - when I last checked my sources, and how they are doing\n"
    "/help - this list\n\n" + HELP_NOTE
)
DM_NO_CHANNEL = "In a direct message the alerts come here; leave out the channel option."
CHANNEL_NOT_USABLE = "I can only alert a text channel of this server; pick one from the list, or leave the option out."
