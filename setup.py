"""Compile the translation catalogs (bot/locale/*/LC_MESSAGES/*.po) into .mo files at build and install.

Everything else about the package is in pyproject.toml. The .mo files are build output and
never committed: a wheel gets them in its build directory, an editable install (pip install -e)
next to the .po files, where .gitignore keeps them out of git.
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path("bot", "locale")


class BuildWithCatalogs(build_py):
    """build_py that also compiles every catalog."""

    def run(self) -> None:
        super().run()
        for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
            target = po.with_suffix(".mo") if self.editable_mode else Path(self.build_lib) / po.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parts[-3])
            with target.open("wb") as out:
                write_mo(out, catalog, use_fuzzy=False)


setup(cmdclass={"build_py": BuildWithCatalogs})
