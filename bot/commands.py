"""Platform-neutral commands. Each takes the core, a destination and its argument text,
and returns a :class:`Reply` that an adapter renders for its platform."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlmodel import Session

from bot import i18n, messages, schedule
from bot.core import Core
from bot.errors import PhotoBusy, PhotoTooLarge, UsageError
from bot.events import Destination, KeyType
from bot.i18n import _
from bot.matching import Vocabulary, by_date, clean_query
from bot.matching import check as check_query
from bot.normalize import has_digit, model_key, name_key
from bot.photos import MAX_PHOTO_BYTES, PhotoReader, PhotoResult
from bot.ratelimit import CommandLimiter
from bot.replies import Button, Reply
from bot.results import CheckResult, Match, Verdict
from bot.schedule import Schedule
from storage import outbox, repo
from storage.sources import list_states

logger = logging.getLogger(__name__)

MAX_SHOWN = 5
MAX_SUBSCRIPTIONS = 100
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
# The type words a chat may put before a name, English and Chinese ("/subscribe 品牌 小米").
_TYPE_WORDS = {t.value: t for t in (KeyType.BRAND, KeyType.MODEL, KeyType.SUPPLIER)} | {
    "品牌": KeyType.BRAND,
    "型号": KeyType.MODEL,
    "供应商": KeyType.SUPPLIER,
    "电芯供应商": KeyType.SUPPLIER,
}
# A type word, then a colon, spaces, or (after a Chinese word) nothing; longest word first ("电芯供应商").
_WORDS = "|".join(sorted(map(re.escape, _TYPE_WORDS), key=len, reverse=True))
_TYPED = re.compile(rf"^({_WORDS})(?:\s*:\s*|\s+|(?<=[^\x00-\x7f])(?=\S))", re.IGNORECASE)


def start(core: Core, dest: Destination, args: str) -> Reply:
    """Greet a user; a chat that was paused (blocked, removed) gets its alerts again."""
    core.destination_back(dest)
    return Reply(_(messages.START))


def help(core: Core, dest: Destination, args: str) -> Reply:
    """List the commands."""
    return Reply(messages.help_text(messages.HELP))


def _unit_text(result: CheckResult) -> str | None:
    """Return what the answer knows about which units are covered."""
    if result.unit is not None:
        template = {True: _(messages.UNIT_COVERED), False: _(messages.UNIT_NOT_COVERED), None: _(messages.UNIT_UNKNOWN)}
        return template[result.unit.covered].format(code=result.unit.code)
    if result.verdict is Verdict.RECALLED and any(m.event.unit_codes or m.event.unit_ranges for m in result.matches):
        return _(messages.UNIT_TESTABLE).format(model=(result.model or "").split(", ")[0])
    if any(m.event.limits or m.event.unit_codes for m in result.matches):
        return _(messages.UNIT_LIMITED)
    return None


def _recalled_text(result: CheckResult) -> str:
    notices = messages.notices(len(result.matches))
    if result.barcode:
        template = _(messages.RECALLED_BARCODE_MODELS) if result.model else _(messages.RECALLED_BARCODE)
        text = template.format(barcode=result.barcode, count=notices, models=result.model)
    elif len(result.models_named) > 1:
        parts = _(messages.REASON_SEPARATOR).join(
            _(messages.RECALLED_PART).format(model=model, count=messages.notices(n)) for model, n in result.models_named
        )
        text = _(messages.RECALLED_MANY).format(parts=parts)
    else:
        text = _(messages.RECALLED).format(model=result.model, count=notices)
    unit = _unit_text(result)
    return messages.sentences(text, unit)


def _possible_text(result: CheckResult) -> str:
    count = len(result.matches)
    if result.code:
        models = _(messages.LIST_SEPARATOR).join(
            dict.fromkeys(m for match in result.matches[:MAX_SHOWN] for m in match.event.models)
        )
        template = _(messages.POSSIBLE_CODE) if models else _(messages.POSSIBLE_CODE_NO_MODEL)
        return template.format(code=result.code, count=messages.notices(count), models=models)
    text = messages.possible_product(count, result.query, any(m.event.models for m in result.matches[:MAX_SHOWN]))
    unit = _unit_text(result)
    return messages.sentences(text, unit)


def _check_text(result: CheckResult) -> str:
    count = len(result.matches)
    if result.verdict is Verdict.RECALLED:
        return _recalled_text(result)
    if result.verdict is Verdict.POSSIBLE:
        return _possible_text(result)
    if result.verdict is Verdict.SUPPLIER:
        supplier = result.matches[0].event.supplier
        return _(messages.RECALLED_SUPPLIER).format(supplier=supplier, count=messages.suspensions(count))
    if result.verdict is Verdict.BRAND and not result.matches:
        lines = [_(messages.BRAND_LINKED_ONLY).format(brand=result.brand)]
        if result.model:
            lines.insert(0, _(messages.NO_MODEL).format(model=result.model))
    elif result.verdict is Verdict.BRAND and result.model:
        no_model = _(messages.NO_MODEL).format(model=result.model)
        lines = [no_model, _(messages.BRAND_LIST).format(brand=result.brand, count=messages.recalls(count))]
    elif result.verdict is Verdict.BRAND:
        lines = [_(messages.BRAND_LIST).format(brand=result.brand, count=messages.recalls(count))]
    else:
        lines = [_(messages.NOT_FOUND).format(query=result.query)]
        if result.suggestions:
            lines.append(_(messages.DID_YOU_MEAN).format(options=_(messages.LIST_SEPARATOR).join(result.suggestions)))
        elif not result.notes:
            lines.append(_(messages.NOT_FOUND_HINT))
    return messages.sentences(*lines) + "\n" + result.coverage


def _check_buttons(result: CheckResult, hidden: int) -> tuple[Button, ...]:
    buttons = []
    if result.verdict is Verdict.RECALLED and result.model:
        buttons.append(Button(_(messages.BUTTON_SUBSCRIBE_MODEL), f"subscribe model {result.model}"))
    testable = any(m.event.unit_codes or m.event.unit_ranges for m in result.matches[:MAX_SHOWN])
    # A serial number or date code the user sent is already what the button would ask for.
    if result.unit is None and not result.code and testable and result.verdict in (Verdict.RECALLED, Verdict.POSSIBLE):
        target = result.model if result.verdict is Verdict.RECALLED else result.query
        buttons.append(Button(_(messages.BUTTON_CHECK_SERIAL), f"serial {target}"))
    if result.brand:
        buttons.append(Button(_(messages.BUTTON_SUBSCRIBE_BRAND), f"subscribe brand {result.brand}"))
    elif result.verdict is Verdict.SUPPLIER:
        supplier = result.matches[0].event.supplier
        buttons.append(Button(_(messages.BUTTON_SUBSCRIBE_SUPPLIER), f"subscribe supplier {supplier}"))
    buttons += [
        Button(_(messages.BUTTON_SUGGESTION).format(name=option), f"check {option}") for option in result.suggestions
    ]
    if hidden:
        buttons.append(Button(_(messages.BUTTON_MORE), "more"))
    return tuple(buttons)


def _run_check(core: Core, dest: Destination, query: str) -> CheckResult:
    """Answer a query and remember it, so /more can show what did not fit."""
    with core.session() as session:
        result = check_query(session, core.vocabulary(session), query)
        # A new answer replaces the chat's page, so /more never shows an earlier question's
        # matches; an answer that fits on one screen writes only where a page is to be replaced.
        replace = len(result.matches) > MAX_SHOWN or repo.last_page(session, dest) is not None
    if replace:  # in a transaction of its own: the answer never waits for a writer
        with core.session(write=True) as session:
            repo.save_page(session, dest, result.query, min(MAX_SHOWN, len(result.matches)), core.clock())
            session.commit()
    return result


def check(core: Core, dest: Destination, args: str) -> Reply:
    """Tell whether a model, product, brand or supplier is named in a recall or suspension."""
    with core.metrics.checking():
        result = _run_check(core, dest, args)
    shown = result.matches[:MAX_SHOWN]
    hidden = len(result.matches) - len(shown)
    return Reply(
        text=_check_text(result),
        matches=shown,
        notes_header=_(messages.SUSPENSION_NOTE).format(brand=result.brand or _(messages.THIS_BRAND))
        if result.notes
        else None,
        notes=result.notes,
        footer=_(messages.MORE_MATCHES).format(count=hidden) if hidden else None,
        buttons=_check_buttons(result, hidden),
        check=result,
    )


def more(core: Core, dest: Destination, args: str) -> Reply:
    """Show the next matches of this chat's last /check."""
    with core.session(write=True) as session:
        page = repo.last_page(session, dest)
        if page is None:
            return Reply(_(messages.MORE_NONE))
        result = check_query(session, core.vocabulary(session), page.query)
        first, total = page.shown, len(result.matches)
        if first >= total:
            return Reply(_(messages.MORE_NONE))
        shown = result.matches[first : first + MAX_SHOWN]
        repo.save_page(session, dest, page.query, first + len(shown), core.clock())
        session.commit()
    hidden = total - first - len(shown)
    return Reply(
        text=_(messages.MORE_HEADER).format(query=result.query, first=first + 1, last=first + len(shown), total=total),
        matches=shown,
        footer=_(messages.MORE_MATCHES).format(count=hidden) if hidden else None,
        buttons=(Button(_(messages.BUTTON_MORE), "more"),) if hidden else (),
    )


def serial(core: Core, dest: Destination, args: str) -> Reply:
    """Explain how to test a unit's serial number or date code; with one given, test it."""
    if not (args or "").strip():
        raise UsageError(_(messages.SERIAL_USAGE))
    reply = check(core, dest, args)
    result = reply.check
    if result is None or result.unit is not None or result.verdict not in (Verdict.RECALLED, Verdict.POSSIBLE):
        return reply
    name = result.model if result.verdict is Verdict.RECALLED else result.query
    events = [m.event for m in result.matches]
    limits = " ".join(dict.fromkeys(e.limits for e in events if e.limits)) or _(messages.UNKNOWN)
    codes = [c for e in events for c in e.unit_codes] + [low for e in events for low, _, _ in e.unit_ranges]
    if not codes:
        return Reply(_(messages.SERIAL_NONE).format(model=name, limits=limits))
    return Reply(_(messages.SERIAL_HOW).format(model=name, example=codes[0], limits=limits))


def _parse_target(args: str, usage: str) -> tuple[KeyType | None, str]:
    """Split "[brand|model|supplier] <name>" into its type (None if left out) and name."""
    try:
        text = clean_query(args, messages.WHAT_FOLLOW)
    except UsageError as error:
        if not (args or "").strip():
            raise UsageError(usage) from None
        raise error
    # "brand Anker", "品牌 小米", and as Chinese is typed, without a space: "品牌小米", "品牌：小米"
    typed = _TYPED.match(text)
    rest = text[typed.end() :].strip() if typed else ""
    if typed and not rest:  # "/subscribe brand" names no brand
        raise UsageError(usage)
    if typed:
        return _TYPE_WORDS[typed.group(1).lower()], rest
    if text.lower() in _TYPE_WORDS:
        raise UsageError(usage)
    return None, text


def _infer_type(session: Session, key: str, name: str) -> KeyType:
    """Guess what a name is: a known supplier or brand, else a model if it has digits."""
    known = {
        h.key_type for h in repo.events_for_keys(session, [("supplier", key), ("brand", key), ("linked_brand", key)])
    }
    if KeyType.SUPPLIER in known:
        return KeyType.SUPPLIER
    if known or not has_digit(name):
        return KeyType.BRAND
    return KeyType.MODEL


def _key(kind: KeyType, name: str, vocabulary: Vocabulary) -> str:
    if kind is KeyType.MODEL:
        return model_key(name)
    key = name_key(name)
    return vocabulary.aliases.get(key, key)


def _follow_buttons(kind: KeyType, name: str, options: tuple[str, ...]) -> tuple[Button, ...]:
    buttons = [Button(_(messages.BUTTON_FOLLOW).format(name=option), f"subscribe {option}") for option in options]
    return (*buttons, Button(_(messages.BUTTON_FOLLOW_ANYWAY).format(name=name), f"subscribe {kind.value} {name}"))


def subscribe(core: Core, dest: Destination, args: str) -> Reply:
    """Follow a brand, model or supplier, and show what is already on record for it.

    A name nothing is on record for, that looks like a typo of a known one, is not
    followed until the user picks: the known name, or this one anyway.
    """
    with core.session(write=True) as session:
        vocabulary = core.vocabulary(session)
        explicit, name = _parse_target(args, _(messages.SUBSCRIBE_USAGE))
        kind = explicit or _infer_type(session, _key(KeyType.BRAND, name, vocabulary), name)
        key = _key(kind, name, vocabulary)
        name = vocabulary.alias_names.get(name_key(name), name) if kind is not KeyType.MODEL else name
        if len(key) < 2:
            raise UsageError(_(messages.MODEL_TOO_SHORT).format(name=name))
        pairs = [(kind.value, key)] + ([(KeyType.LINKED_BRAND.value, key)] if kind is KeyType.BRAND else [])
        hits = repo.events_for_keys(session, pairs)
        if not hits and explicit is None and (options := vocabulary.suggest(name)):
            text = _(messages.SUBSCRIBE_UNKNOWN).format(name=name, options=_(messages.OR).join(options))
            return Reply(text, buttons=_follow_buttons(kind, name, options))
        if len(repo.list_subscriptions(session, dest)) >= MAX_SUBSCRIPTIONS:
            raise UsageError(_(messages.TOO_MANY_SUBSCRIPTIONS).format(limit=MAX_SUBSCRIPTIONS, name=name))
        created = repo.add_subscription(session, dest, kind.value, key, name, core.clock())
        outbox.resume_destination(session, dest)  # subscribing again says the chat is back
        if outbox.language_of(session, dest) is None and i18n.current() != i18n.DEFAULT:
            # Alerts go in the language the chat was answered in when it subscribed, until /language.
            outbox.set_language(session, dest, i18n.current())
        session.commit()
        coverage = vocabulary.coverage()
    template = _(messages.SUBSCRIBED) if created else _(messages.ALREADY_SUBSCRIBED)
    matches = by_date([Match(h.event, "") for h in hits])
    existing = _(messages.SUBSCRIBED_EXISTING) if matches else _(messages.SUBSCRIBED_UNKNOWN)
    hidden = len(matches) - MAX_SHOWN
    said = template.format(kind=messages.kind_word(kind.value), name=name)
    return Reply(
        text=f"{said} {existing.format(name=name)}\n{coverage}",
        matches=matches[:MAX_SHOWN],
        footer=_(messages.MORE_MATCHES).format(count=hidden) if hidden > 0 else None,
    )


def unsubscribe(core: Core, dest: Destination, args: str) -> Reply:
    """Stop following a brand, model or supplier."""
    with core.session(write=True) as session:
        kind, name = _parse_target(args, _(messages.UNSUBSCRIBE_USAGE))
        kinds = [kind] if kind else [KeyType.BRAND, KeyType.MODEL, KeyType.SUPPLIER]
        vocabulary = core.vocabulary(session)
        removed = repo.remove_subscriptions(session, dest, [(k.value, _key(k, name, vocabulary)) for k in kinds])
        session.commit()
    if not removed:
        return Reply(_(messages.NOT_SUBSCRIBED).format(name=name))
    return Reply(_(messages.UNSUBSCRIBED).format(names=_(messages.LIST_SEPARATOR).join(removed)))


def subscriptions(core: Core, dest: Destination, args: str) -> Reply:
    """List what a destination follows."""
    with core.session() as session:
        rows = repo.list_subscriptions(session, dest)
    if not rows:
        return Reply(_(messages.NO_SUBSCRIPTIONS))
    lines = [_(messages.SUBSCRIPTIONS)] + [f"- {messages.kind_word(row.key_type)} {row.label}" for row in rows]
    buttons = tuple(
        Button(_(messages.BUTTON_UNSUBSCRIBE_NAME).format(name=row.label), f"unsubscribe {row.key_type} {row.label}")
        for row in rows
    )
    return Reply("\n".join(lines), buttons=buttons)


def recent(core: Core, dest: Destination, args: str) -> Reply:
    """Show the latest recalls and suspensions."""
    with core.session() as session:
        events = repo.recent_events(session, MAX_SHOWN)
    if not events:
        return Reply(_(messages.RECENT_NONE))
    return Reply(_(messages.RECENT), matches=tuple(Match(e, "") for e in events))


def _when(value: datetime | str | None) -> str:
    if value is None:
        return _(messages.STATUS_NEVER)
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return i18n.format_datetime(moment.astimezone(UTC))


def _held(count: int, first: date | None, last: date | None) -> str:
    """Return how many records a source gave and the span of their dates."""
    records = messages.records(count)
    if not (first and last):
        return records
    return _(messages.STATUS_HELD_RANGE).format(
        count=records, first=i18n.format_date(first), last=i18n.format_date(last)
    )


def status(core: Core, dest: Destination, args: str) -> Reply:
    """Show the checker's health: sources, last and next check (none when no instance runs), alerts waiting."""
    from storage.stats import instances_alive

    with core.session() as session:
        last, upcoming = repo.get_meta(session, "last_check_at"), repo.get_meta(session, "next_check_at")
        depth = outbox.queue_depth(session)
        states = list_states(session)
        held = {origin: (count, first, last) for origin, count, first, last in repo.origin_coverage(session)}
        # Running instances heartbeat every second; one silent this long is dead, as its claims are.
        running = instances_alive(session, core.clock() - outbox.CLAIMER_DEAD_AFTER) > 0
    if running:
        lines = [_(messages.STATUS_HEADER).format(last=_when(last), next=_when(upcoming), depth=depth)]
    else:  # the next check time a stopped instance left is not going to happen
        lines = [_(messages.STATUS_HEADER_STOPPED).format(last=_when(last), depth=depth)]
    for origin in sorted(held.keys() - {state.name for state in states}):
        lines.append(_(messages.STATUS_BUNDLED).format(name=origin, held=_held(*held[origin])))
    for state in states:
        error = (
            _(messages.STATUS_ERROR).format(at=_when(state.last_error_at), error=state.last_error)
            if state.last_error
            else ""
        )
        backoff = _(messages.STATUS_BACKOFF).format(at=_when(state.next_attempt_at)) if state.next_attempt_at else ""
        lines.append(
            _(messages.STATUS_SOURCE).format(
                name=state.name,
                success=_when(state.last_success_at),
                held=_held(*held.get(state.name, (0, None, None))),
                failures=state.consecutive_failures,
                error=error,
                backoff=backoff,
            )
        )
    if not states:
        lines.append(_(messages.STATUS_NO_SOURCES))
    return Reply("\n".join(lines))


def photo(core: Core, dest: Destination, result: PhotoResult) -> Reply:
    """Answer a photo of a label: the /check answer of its barcode, else the model numbers read, to confirm.

    Model numbers read by OCR are never checked unasked: a misread (A1263 as Al263) could
    answer "No" for a recalled product, so the owner taps the one printed on the label.
    """
    if not result.opened:
        return Reply(_(messages.PHOTO_UNREADABLE))
    if result.barcodes:
        unlisted: list[Reply] = []
        for code in result.barcodes:  # checked until one is listed: each check is a lookup
            reply = check(core, dest, _printed(code))
            if reply.check and reply.check.verdict is Verdict.RECALLED:
                return reply
            unlisted.append(reply)
        # Most notices name models, not barcodes: a barcode in none of them says little about the product.
        return dataclasses.replace(unlisted[0], text=f"{unlisted[0].text}\n{_(messages.PHOTO_BARCODE_UNLISTED)}")
    if not result.ocr_ran:
        return Reply(_(messages.PHOTO_NO_OCR))
    if not result.candidates:
        return Reply(_(messages.PHOTO_NOTHING))
    models = messages.listing([c.text for c in result.candidates])
    buttons = tuple(Button(_(messages.BUTTON_CHECK).format(model=c.text), f"check {c.text}") for c in result.candidates)
    if any(c.known for c in result.candidates):
        return Reply(_(messages.PHOTO_CANDIDATES).format(models=models), buttons=buttons)
    with core.session() as session:
        coverage = core.vocabulary(session).coverage()
    return Reply(f"{_(messages.PHOTO_NO_MATCH).format(models=models)}\n{coverage}", buttons=buttons)


def photo_refused(reader: PhotoReader, dest: Destination, size: int) -> Reply | None:
    """Return why a photo is not read, before it is downloaded: too large, or one of this chat's is being read."""
    if size > MAX_PHOTO_BYTES:
        return Reply(_photo_too_large(size))
    if reader.busy(dest.address):
        return Reply(_(messages.PHOTO_BUSY))
    return None


async def read_photo(core: Core, reader: PhotoReader, dest: Destination, data: bytes) -> Reply:
    """Read a downloaded photo of a label off the event loop and answer it (see :func:`photo`)."""
    models = await asyncio.to_thread(known_models, core)
    try:
        result = await reader.read(dest.address, data, models)
    except PhotoBusy as busy:
        return Reply(_(messages.PHOTO_BUSY) if busy.own else _(messages.PHOTO_FULL))
    except PhotoTooLarge as error:
        return Reply(_photo_too_large(error.size))
    return await asyncio.to_thread(photo, core, dest, result)


def _photo_too_large(size: int) -> str:
    mb = 1024 * 1024
    return _(messages.PHOTO_TOO_LARGE).format(size=f"{size / mb:.1f}", limit=MAX_PHOTO_BYTES // mb)


def _printed(gtin: str) -> str:
    """Return a GTIN-14 as its barcode prints it: EAN-8 (8 digits), UPC-A (12) or EAN-13."""
    for zeros in (6, 2, 1):  # EAN-8, UPC-A, EAN-13
        if gtin.startswith("0" * zeros):
            return gtin[zeros:]
    return gtin


def known_models(core: Core) -> dict[str, str]:
    """Return every model number on record (key -> as printed), for reading labels."""
    with core.session() as session:
        return core.vocabulary(session).models


def settings(core: Core, dest: Destination, args: str) -> Reply:
    """Show or change when this chat gets its alerts: as they come or in a daily digest, and quiet hours."""
    words = (args or "").split()
    with core.session(write=True) as session:
        current = outbox.schedule_of(session, dest)
        if not words:
            return _settings_reply(current, "")
        new = _changed(current, words)
        outbox.set_schedule(session, dest, new, core.clock())
        session.commit()
    return _settings_reply(new, _(messages.SETTINGS_SAVED))


def _changed(current: Schedule, words: list[str]) -> Schedule:
    """Return the settings after "/settings <words>", or raise UsageError saying what is wrong."""
    what, values = words[0].lower().replace("_", "-"), words[1:]
    if what == "instant" and not values:
        return dataclasses.replace(current, mode=schedule.INSTANT)
    if what in ("digest", "digest-all") and len(values) <= 1:
        hour = _hour(values[0]) if values else current.digest_hour
        mode = schedule.DIGEST if what == "digest" else schedule.DIGEST_ALL
        return dataclasses.replace(current, mode=mode, digest_hour=hour)
    if what == "quiet" and [v.lower() for v in values] == ["off"]:
        return dataclasses.replace(current, quiet_from=None, quiet_to=None)
    if what == "quiet" and len(values) == 2:
        return dataclasses.replace(current, quiet_from=_hour(values[0]), quiet_to=_hour(values[1]))
    if what in ("zone", "timezone", "tz") and len(values) == 1:
        if schedule.zone(values[0]) is None:
            raise UsageError(_(messages.UNKNOWN_ZONE).format(zone=values[0][:64]))
        return dataclasses.replace(current, time_zone=values[0])
    said = _(messages.SETTINGS_USAGE).format(text=" ".join(words)[:64])
    raise UsageError(messages.sentences(said, _(messages.SETTINGS_HOW)))


def _hour(text: str) -> int:
    if not (text.isdigit() and 0 <= int(text) <= 23):
        raise UsageError(messages.sentences(_(messages.BAD_HOUR), _(messages.SETTINGS_HOW)))
    return int(text)


def _settings_reply(now: Schedule, saved: str) -> Reply:
    modes = {
        schedule.INSTANT: messages.MODE_INSTANT,
        schedule.DIGEST: messages.MODE_DIGEST,
        schedule.DIGEST_ALL: messages.MODE_DIGEST_ALL,
    }
    mode = _(modes.get(now.mode, messages.MODE_INSTANT)).format(hour=now.digest_hour)
    quiet = (
        _(messages.QUIET_ON).format(start=now.quiet_from, end=now.quiet_to)
        if now.quiet_from is not None and now.quiet_to is not None
        else _(messages.QUIET_OFF)
    )
    text = messages.sentences(saved, _(messages.SETTINGS_NOW).format(mode=mode, quiet=quiet, zone=now.time_zone))
    buttons = (
        Button(_(messages.BUTTON_INSTANT), "settings instant"),
        Button(_(messages.BUTTON_DIGEST), "settings digest 9"),
        Button(_(messages.BUTTON_QUIET), "settings quiet 22 7"),
        Button(_(messages.BUTTON_QUIET_OFF), "settings quiet off"),
    )
    return Reply(f"{text}\n{_(messages.SETTINGS_HOW)}", buttons=buttons)


def language(core: Core, dest: Destination, args: str) -> Reply:
    """Choose the language this chat is answered and alerted in: /language zh, /language en."""
    chosen = i18n.language_of(args)
    if chosen is None:
        current = i18n.current()
        buttons = tuple(
            Button(_(messages.LANGUAGE_NAMES[lang]), f"language {lang}") for lang in i18n.LANGUAGES if lang != current
        )
        return Reply(_(messages.LANGUAGE_USAGE).format(current=_(messages.LANGUAGE_NAMES[current])), buttons=buttons)
    core.choose_language(dest, chosen)
    with i18n.language(chosen):
        return Reply(_(messages.LANGUAGE_SET).format(language=_(messages.LANGUAGE_NAMES[chosen])))


def _counts(stored: repo.StoredAbout) -> str:
    return _(messages.FORGET_COUNTS).format(
        subscriptions=i18n.format_number(stored.subscriptions),
        pending=i18n.format_number(stored.pending),
        sent=i18n.format_number(stored.sent),
    )


def forget(core: Core, dest: Destination, args: str) -> Reply:
    """Delete everything stored about this chat: /forget says what and asks, /forget confirm (its button) does it."""
    if args.strip().lower() != "confirm":
        stored = core.stored(dest)
        if not stored.total:
            return Reply(_(messages.FORGET_NOTHING))
        button = Button(_(messages.BUTTON_FORGET), "forget confirm")
        return Reply(_(messages.FORGET_ASK).format(counts=_counts(stored)), buttons=(button,))
    deleted = core.forget(dest)
    if not deleted.total:
        return Reply(_(messages.FORGET_NOTHING))
    return Reply(_(messages.FORGET_DONE).format(counts=_counts(deleted)))


def too_many(core: Core) -> Reply:
    """Return the one sentence a chat over its command limit gets (bot/ratelimit.py)."""
    limiter = core.limiter or CommandLimiter()
    return Reply(_(messages.TOO_MANY_COMMANDS).format(limit=limiter.limit, seconds=f"{limiter.window:g}"))


# Commands that change what a chat follows or how it is spoken to: in groups and servers, for their managers only.
MUTATING = frozenset({"subscribe", "unsubscribe", "language", "forget", "settings"})

COMMANDS: dict[str, Callable[[Core, Destination, str], Reply]] = {
    "start": start,
    "help": help,
    "check": check,
    "more": more,
    "serial": serial,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "subscriptions": subscriptions,
    "recent": recent,
    "status": status,
    "language": language,
    "settings": settings,
    "forget": forget,
}


def dispatch(core: Core, dest: Destination, text: str) -> Reply:
    """Run a "/command args" line and return the reply; never raises for bad input."""
    match = _COMMAND.match((text or "").strip())
    if not match:
        return Reply(_(messages.NOT_A_COMMAND))
    name, args = match.group(1).lower(), match.group(2) or ""
    command = COMMANDS.get(name)
    if command is None:
        return Reply(_(messages.UNKNOWN_COMMAND).format(name=name[:32]))
    try:
        return command(core, dest, args)
    except UsageError as error:
        return Reply(str(error))
    except Exception:
        logger.exception("command /%s failed", name)
        return Reply(_(messages.INTERNAL_ERROR))
