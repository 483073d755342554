"""PostgreSQL's network addresses: INET, CIDR, MACADDR, MACADDR8, in PostgreSQL's own text form.

Fixtures write them as PostgreSQL does ("10.0.0.1", "10.0.0.0/8",
"08:00:2b:01:02:03"); the canonical form is the server's text of the value
(`text(inet)`, which always carries the prefix length: "10.0.0.1/32"), and
a MAC address in any of PostgreSQL's spellings reads back as
"08:00:2b:01:02:03".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from ._family import POSTGRESQL, Family, Invalid
from ._kind import Kind
from ._sql import server_text_sql

__all__ = ["CIDR", "INET", "MACADDR"]


def _address(kind: str, parse: Callable[[str], object], example: str) -> Callable[[TypeEngine[Any], Any], str]:
    def fixture(type_: TypeEngine[Any], value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f'expected an address such as "{example}", got {value!r}')
        try:
            parse(value)
        except ValueError as exc:
            raise Invalid(f"{value!r} is not {kind} ({exc})") from None
        return value

    return fixture


_MAC = re.compile(r"[0-9A-Fa-f]{2}(?:[:.\-]?[0-9A-Fa-f]{2})*")


def _mac(type_: TypeEngine[Any], value: Any) -> str:
    size = 8 if isinstance(type_, postgresql.MACADDR8) else 6
    digits = re.sub(r"[:.\-]", "", value) if isinstance(value, str) else ""
    if not isinstance(value, str) or not _MAC.fullmatch(value) or len(digits) not in (12, 2 * size):
        raise Invalid(f'expected a MAC address such as "08:00:2b:01:02:03", got {value!r}')
    return value


def _same(type_: TypeEngine[Any]) -> Callable[[Any], str]:
    return str


def _family(name: str, type_class: type, kind: str, fixture: Callable[[TypeEngine[Any], Any], str]) -> Family:
    return Family(
        name=name,
        covers=(f"postgresql.{name}",),
        matches=lambda t: isinstance(t, type_class),
        kind=lambda t: Kind(kind),
        fixture=fixture,
        copy_text=_same,
        engines=POSTGRESQL,
        read=lambda t: "text",
        text_copy=True,
        sql=server_text_sql,
    )


INET = _family("INET", postgresql.INET, "inet", _address("an INET address", ipaddress.ip_interface, "10.0.0.1"))
CIDR = _family(
    "CIDR", postgresql.CIDR, "cidr", _address("a CIDR network", lambda v: ipaddress.ip_network(v), "10.0.0.0/8")
)
MACADDR = Family(
    name="MACADDR / MACADDR8",
    covers=("postgresql.MACADDR", "postgresql.MACADDR8"),
    matches=lambda t: isinstance(t, postgresql.MACADDR | postgresql.MACADDR8),
    kind=lambda t: Kind("macaddr"),
    fixture=_mac,
    copy_text=_same,
    engines=POSTGRESQL,
    read=lambda t: "text",
    text_copy=True,
    sql=server_text_sql,
)
