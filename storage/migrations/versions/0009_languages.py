"""Languages: a destination's chosen language, and alert reasons kept as data instead of English

Revision ID: 0009
Revises: 0008
"""

import re
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The English each reason was stored as before, most specific first, and the fields it held.
# The stored form is "kind<TAB>name<TAB>supplier<TAB>brand" (bot.events.Reason.line).
_OLD: list[tuple[re.Pattern[str], tuple[str | int, ...]]] = [
    (
        re.compile(
            r"^you follow model (.+), a (.+) model; \2 is named as a customer of (.+) \(potentially affected\)$"
        ),
        ("model", 1, 3, 2),
    ),
    (re.compile(r"^you follow brand (.+), named as a customer of (.+) \(potentially affected\)$"), ("brand", 1, 2, "")),
    (re.compile(r"^you follow (brand|model|supplier) (.+)$"), (1, 2, "", "")),
]  # each field: a group of the match, or a fixed text
_NEW = {
    "linked_model": "you follow model {1}, a {3} model; {3} is named as a customer of {2} (potentially affected)",
    "linked_brand": "you follow brand {1}, named as a customer of {2} (potentially affected)",
    "plain": "you follow {0} {1}",
}

delivery = sa.table(
    "delivery", sa.column("id", sa.Integer), sa.column("reasons", sa.Text), sa.column("status", sa.String)
)


def _to_data(line: str) -> str:
    if "\t" in line:
        return line
    for pattern, fields in _OLD:
        if match := pattern.match(line):
            return "\t".join(match[f] if isinstance(f, int) else f for f in fields)
    return f"\t{line}\t\t"  # no kind: shown as it was written (bot.messages.why)


def _to_text(line: str) -> str:
    kind, name, supplier, brand = [*line.split("\t"), "", "", ""][:4]
    if not kind:
        return name
    shape = "linked_model" if supplier and brand else "linked_brand" if supplier else "plain"
    return _NEW[shape].format(kind, name, supplier, brand)


def _rewrite(convert: Callable[[str], str], upgrade: bool) -> None:
    """Rewrite the reasons of the alerts still to be sent; what was sent is history and keeps its words."""
    bind = op.get_bind()
    pending = sa.select(delivery.c.id, delivery.c.reasons).where(delivery.c.status == "pending")
    worded = delivery.c.reasons.not_like("%\t%") if upgrade else delivery.c.reasons.like("%\t%")
    rows = bind.execute(pending.where(worded)).all()
    for row_id, reasons in rows:
        new = "\n".join(convert(line) for line in str(reasons).splitlines())
        if new != reasons:
            bind.execute(delivery.update().where(delivery.c.id == row_id).values(reasons=new))


def upgrade() -> None:
    with op.batch_alter_table("destination") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
    _rewrite(_to_data, upgrade=True)


def downgrade() -> None:
    _rewrite(_to_text, upgrade=False)
    with op.batch_alter_table("destination") as batch:
        batch.drop_column("language")
