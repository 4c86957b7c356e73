"""Which subscriptions an event alerts, and the sentence that says why."""

from __future__ import annotations

from sqlmodel import Session

from bot import messages
from bot.events import Event, EventKind, KeyType
from storage import repo
from storage.outbox import AlertKey


def alert_keys(session: Session, event: Event) -> list[AlertKey]:
    """Return the subscription keys an event alerts.

    A recall alerts its brand (and the company names it answers to) and its
    models. A supplier suspension alerts the supplier and its aliases and,
    as "potentially affected", the brands named as its customers and the
    recalled models of those brands that are on record.
    """
    keys: list[AlertKey] = []
    found = event.lookup_keys()
    if event.kind is EventKind.RECALL:
        for kind, key, _ in found:
            if kind is KeyType.BRAND:
                keys.append(AlertKey("brand", key, messages.WHY_BRAND))
            elif kind is KeyType.MODEL:
                keys.append(AlertKey("model", key, messages.WHY_MODEL))
        return keys
    supplier = event.supplier or event.title
    linked = {key: label for kind, key, label in found if kind is KeyType.LINKED_BRAND}
    for kind, key, _ in found:
        if kind is KeyType.SUPPLIER:
            keys.append(AlertKey("supplier", key, messages.WHY_SUPPLIER))
    for key in linked:
        keys.append(AlertKey("brand", key, messages.WHY_BRAND, messages.WHY_LINKED.format(supplier=supplier)))
    models: dict[str, str] = {}
    for hit in repo.events_for_keys(session, [(KeyType.BRAND.value, key) for key in linked]):
        for kind, key, _ in hit.event.lookup_keys():
            if kind is KeyType.MODEL:
                models.setdefault(key, hit.label)
    for key, brand in models.items():
        suffix = messages.WHY_LINKED_MODEL.format(brand=brand, supplier=supplier)
        keys.append(AlertKey("model", key, messages.WHY_MODEL, suffix))
    return keys
