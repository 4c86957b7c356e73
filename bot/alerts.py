"""Which subscriptions an event alerts, and why (as data: it is worded when the alert is sent)."""

from __future__ import annotations

from sqlmodel import Session

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
        for kind, key, _label in found:
            if kind is KeyType.BRAND:
                keys.append(AlertKey("brand", key))
            elif kind is KeyType.MODEL:
                keys.append(AlertKey("model", key))
        return keys
    supplier = event.supplier or event.title
    linked = {key: label for kind, key, label in found if kind is KeyType.LINKED_BRAND}
    for kind, key, _label in found:
        if kind is KeyType.SUPPLIER:
            keys.append(AlertKey("supplier", key))
    for key in linked:
        keys.append(AlertKey("brand", key, supplier=supplier))
    models: dict[str, str] = {}
    for hit in repo.events_for_keys(session, [(KeyType.BRAND.value, key) for key in linked]):
        for kind, key, _label in hit.event.lookup_keys():
            if kind is KeyType.MODEL:
                models.setdefault(key, hit.label)
    for key, brand in models.items():
        keys.append(AlertKey("model", key, supplier=supplier, brand=brand))
    return keys
