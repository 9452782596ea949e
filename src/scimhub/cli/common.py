"""What the `scimhub` subcommands share: errors, the database, durations, output."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from scimhub.db.engine import Database
from scimhub.settings import Settings
from scimhub.tenancy.tenants import Tenant, get_tenant

# Written on tokens and admin keys the CLI issues or revokes (`created_by`).
ACTOR = "cli"

Handler = Callable[[argparse.Namespace], None]
# A string: _SubParsersAction is not subscriptable at run time on every Python.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A failure to report on stderr with exit status 1, without a traceback."""


def settings_of(args: argparse.Namespace) -> Settings:
    return Settings.from_env(database_url=getattr(args, "database_url", None))


@contextmanager
def database(args: argparse.Namespace) -> Iterator[Database]:
    db = Database(settings_of(args).database_url, pool_size=1)
    try:
        yield db
    finally:
        db.dispose()


def require_tenant(conn: Any, slug: str) -> Tenant:
    tenant = get_tenant(conn, slug)
    if tenant is None:
        raise CliError(f"no tenant {slug!r}")
    return tenant


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta:
    """`30m`, `24h`, `7d`, `3600s` → a timedelta (an argparse type)."""
    match = _DURATION.match(text.lower())
    if not match:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: a number and a unit, e.g. 30m, 24h, 7d, 3600s"
        )
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError as exc:
        raise argparse.ArgumentTypeError(f"duration {text!r} is too long") from exc


def yes_no(text: str) -> bool:
    """`yes`/`no` (also true/false, 1/0) → bool (an argparse type)."""
    folded = text.strip().lower()
    if folded in ("yes", "true", "1", "on"):
        return True
    if folded in ("no", "false", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, not {text!r}")


def when(moment: datetime | None) -> str:
    """A timestamp for people: UTC to the second, or "-"."""
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else "-"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    json.dump(_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def print_fields(rows: list[tuple[str, Any]]) -> None:
    """`label: value` lines, labels aligned."""
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label + ':':<{width + 1}} {'-' if value is None else value}")


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")
