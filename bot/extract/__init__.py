"""Find model numbers, unit limits and brand names in the free text of recall notices.

CPSC notices carry model numbers only in prose ("model numbers A1642, A1647 and
A1652"), sometimes in flattened tables where a model stands next to its serial
numbers. The rules here, each seen in the real data:

* a token that mixes letters and digits (``A1263``, ``nc-02``, ``IST-09991/W05``)
  is a model wherever it stands, unless it is a measure (``12W``, ``10,000mAh``),
  a word compound (``3-in-1``), a rating or standard (``IPX4``, ``UL2054``), a
  battery cell (``CR2032``), a version (``v2.0``), a time (``9AM``), a date or date
  code (``JUL24``, ``06/15/23CH1``), a VIN, or a word of the company's name (``U2O``);
* a plain number (``0480``, ``98200``) is a model only in a list that follows
  the word "model", "ref.", "SKU" and the like, and never when it is a year;
* in such a list a short word followed by a code is one model (``BatPak 2F``,
  ``PM 4910-10``, ``FE 350``);
* serial numbers, date codes, lots and batches are never models: they are the
  notice's unit limits. They are found in lists after "serial numbers", "date
  codes" and the like, in ranges (``VF34618193 thru VF34618322``), in "Model Number
  Serial Numbers" tables, and as look-alikes of those (same first character,
  length and letter/digit pattern).

:func:`extract_limits` returns those codes and ranges with the notice's sentences that
restrict the units ("Only ... with serial numbers ... are included"), and
:func:`unit_covered` checks a unit's code against them. :func:`extract_brands` takes the
brand from the title, the "X-branded" phrases and the company names, never a product
word ("USB Chargers", "LED Lights").
"""

from bot.extract.brands import extract_brands
from bot.extract.limits import UnitLimits, extract_limits, unit_covered
from bot.extract.models import extract_models

__all__ = ["UnitLimits", "extract_brands", "extract_limits", "extract_models", "unit_covered"]
