"""Database URLs, parsed once into the target the driver will really connect to.

A URL is read here, and only here, into a `Target`: the engine, the SQLite
file, or PostgreSQL's hosts (from the authority, `?host=` or $PGHOST, unix
socket directories included), ports, user, password (from the userinfo or
`?password=`), database and libpq's connection parameters. Everything else
uses that one value: the driver's connect arguments, the "is it local?"
decision behind `--force`, and the URL shown to people, so no part of the URL
can steer the connection somewhere the check did not look.

Passwords are hidden by structure, never by searching text for the password:
`scrub` rewrites each URL-shaped token of a message from its parsed parts (a
token that does not parse is hidden whole). A URL that cannot be parsed is
never echoed, not even in part: its pieces may be pieces of a password.

Standard library only: the CLI parses and scrubs before it imports any
driver.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote

from .errors import ConfigError

__all__ = ["PG_ENVIRONMENT", "SSL_MODES", "Target", "parse", "scrub", "scrub_args"]

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_SESSION_ATTRS = ("any", "primary", "standby", "prefer-standby", "read-write", "read-only")
# libpq's parameters that we map to the driver; any other is refused by name.
_PARAMETERS = (
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
)
#: The libpq environment variables honoured when the URL leaves the value out.
PG_ENVIRONMENT = (
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGTARGETSESSIONATTRS",
)
_SCHEMES = {
    "sqlite": "sqlite",
    "sqlite+aiosqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+asyncpg": "postgresql",
}
# What asyncpg tries when no host is given anywhere: the usual socket directories, then localhost.
_DEFAULT_HOSTS = ("/run/postgresql", "/var/run/postgresql", "/tmp", "/private/tmp", "localhost")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_DEFAULT_CONNECT_TIMEOUT_S = 10.0
# Our own example, left as written by `scrub` (its password slot is a placeholder, not a secret).
_EXAMPLE_URL = "postgresql://user:PASSWORD@host:5432/dbname"
_EXAMPLES = f"expected sqlite:///path/to/file.db or {_EXAMPLE_URL}"
_ENCODE_HINT = "percent-encode them in the user name and password: '@' %40, '/' %2F, '?' %3F, '#' %23, ':' %3A, '%' %25"


def _unparseable(scheme: str, why: str) -> ConfigError:
    """The error for a URL we cannot read: it names what is wrong, never any part of the URL."""
    shown = f"database URL {scheme}://…" if scheme in _SCHEMES else "the database URL"
    return ConfigError(f"cannot parse {shown}: {why}; {_EXAMPLES}")


@dataclass(frozen=True)
class Target:
    """Where and how the driver connects; the only form of a URL the rest of echelon-seed sees."""

    engine: Literal["sqlite", "postgresql"]
    path: str = ""
    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    user: str = ""
    password: str | None = field(default=None, repr=False)
    database: str = ""
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The URL for people: the hosts the driver uses, `***` in the password's place."""
        return self._render(":***" if self.password is not None else "", self.database)

    @property
    def pasteable(self) -> str:
        """The URL for a command people paste: no password at all, so the driver takes it from
        PGPASSWORD or the password file, as psql would (`***` would be sent as the password)."""
        return self._render("", self.database)

    def url_for(self, database: str) -> str:
        """A URL that connects where this one does, as the same user, but to `database` (password included).

        For handing to a driver only (the pytest plugin's per-test databases);
        show people `display` or `scrub` the result.
        """
        if self.engine != "postgresql":
            raise ValueError("url_for is for PostgreSQL targets")
        secret = ":" + quote(self.password, safe="") if self.password is not None else ""
        return self._render(secret, database)

    def _render(self, secret: str, database: str) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.path}"
        user = quote(self.user, safe="") + secret + "@" if self.user or secret else ""
        query = dict(self.params)
        authority = ""
        if any(h.startswith("/") for h in self.hosts):
            if self.hosts != _DEFAULT_HOSTS:
                ports = ",".join(str(p) for p in self.ports) if len(set(self.ports)) > 1 else str(self.ports[0])
                query = {"host": ",".join(self.hosts), "port": ports, **query}
        else:
            pairs = zip(self.hosts, self.ports, strict=True)
            authority = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in pairs)
        shown = "&".join(f"{k}={quote(v, safe='/,:=-')}" for k, v in query.items())
        return f"postgresql://{user}{authority}/{quote(database, safe='')}" + (f"?{shown}" if shown else "")

    @property
    def is_local(self) -> bool:
        """Whether every host the driver may reach is this machine by its plain name (or a socket)."""
        if self.engine == "sqlite":
            return True
        return all(h in _LOCAL_HOSTS or h.startswith("/") for h in self.hosts)

    def connect_kwargs(self, *, server_settings: Mapping[str, str] | None = None) -> dict[str, Any]:
        """asyncpg.connect() arguments; `server_settings` are ours and win over the URL's."""
        if self.engine != "postgresql":
            raise ValueError("connect_kwargs is for PostgreSQL targets")
        p = self.params
        settings: dict[str, str] = {}
        if "application_name" in p:
            settings["application_name"] = p["application_name"]
        if "options" in p:
            settings["options"] = p["options"]
        settings.update(server_settings or {})
        kwargs: dict[str, Any] = {
            "host": list(self.hosts),
            "port": list(self.ports),
            "user": self.user,
            "database": self.database,
            "timeout": float(p.get("connect_timeout", _DEFAULT_CONNECT_TIMEOUT_S)) or None,
            "server_settings": settings,
        }
        if self.password is not None:
            kwargs["password"] = self.password
        if "sslmode" in p:
            kwargs["ssl"] = p["sslmode"]
        if "target_session_attrs" in p:
            kwargs["target_session_attrs"] = p["target_session_attrs"]
        files = {k: p[k] for k in ("sslrootcert", "sslcert", "sslkey") if k in p}
        if files:
            # asyncpg takes certificate files only from a DSN: one that carries nothing else.
            kwargs["dsn"] = "postgresql://?" + "&".join(f"{k}={quote(v, safe='/')}" for k, v in files.items())
        return kwargs


def _split_scheme(raw: str) -> tuple[str, str]:
    scheme, sep, rest = raw.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise _unparseable("", "it does not start with a scheme such as postgresql:// or sqlite:///")
    return scheme.lower(), rest


def parse(raw: str, environ: Mapping[str, str] | None = None) -> Target:
    """The target of `raw`, with libpq's environment variables for what the URL leaves out."""
    env = os.environ if environ is None else environ
    scheme, rest = _split_scheme(raw.strip())
    engine = _SCHEMES.get(scheme)
    if engine is None:
        base = scheme.split("+", 1)[0]
        if base in ("sqlite", "postgresql", "postgres"):
            raise ConfigError(f"unsupported driver {scheme!r}; use {base}:// (echelon-seed chooses the driver)")
        raise ConfigError(f"unsupported database {base!r}; echelon-seed supports sqlite:/// and postgresql://")
    if "#" in rest:
        raise _unparseable(scheme, f"it contains '#'; {_ENCODE_HINT}")
    if engine == "sqlite":
        return _parse_sqlite(scheme, rest)
    return _parse_postgresql(scheme, rest, env)


def _parse_sqlite(scheme: str, rest: str) -> Target:
    authority, _, path = rest.partition("/")
    path, _, query = path.partition("?")
    if authority:
        raise _unparseable(scheme, "a SQLite URL has no host: sqlite:///relative.db or sqlite:////absolute.db")
    if query:
        names = ", ".join(sorted({k for k, _ in parse_qsl(query, keep_blank_values=True)})) or query
        raise ConfigError(f"unknown parameter(s) {names} in the SQLite URL; it takes none")
    path = unquote(path)
    if path in ("", ":memory:"):
        raise ConfigError(
            "an in-memory SQLite database cannot be seeded and read back; give a file: sqlite:///./dev.db"
        )
    return Target(engine="sqlite", path=path)


def _parse_postgresql(scheme: str, rest: str, env: Mapping[str, str]) -> Target:
    # libpq: the user information ends at the '@' before the first '/'.
    head, slash, tail = rest.partition("/")
    if "@" in tail:
        raise _unparseable(scheme, f"an '@' after the host (unencoded in the password?); {_ENCODE_HINT}")
    if head.count("@") > 1:
        raise _unparseable(scheme, f"more than one '@' before the host; {_ENCODE_HINT}")
    userinfo, at, hostspec = head.rpartition("@")
    if not at:
        userinfo, hostspec = "", head
    if not slash and "?" in hostspec:
        hostspec, _, query = hostspec.partition("?")
        path = ""
    else:
        path, _, query = tail.partition("?")
    user, colon, password = userinfo.partition(":")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _unparseable(scheme, "its query is not name=value pairs joined by '&'") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name not in _PARAMETERS:
            raise ConfigError(
                f"unknown parameter {name!r} in the database URL; echelon-seed understands: {', '.join(_PARAMETERS)}"
            )
        if name in params:
            raise ConfigError(f"parameter {name!r} is given twice in the database URL")
        params[name] = value

    def once(name: str, in_body: str | None) -> str | None:
        # As in libpq, a query parameter wins over the same value in the URL's body.
        in_query = params.pop(name, None)
        return in_query if in_query is not None else in_body

    query_host = once("host", None)
    if query_host is not None:
        hosts, ports = _hosts(scheme, query_host, encoded=False)
    else:
        hosts, ports = _hosts(scheme, hostspec)
    query_port = once("port", None)
    if query_port is not None:
        ports = (0,) * len(ports)
    user_text = once("user", unquote(user) if user else None)
    password_text = once("password", unquote(password) if colon else None)
    database = once("dbname", unquote(path) if path else None)
    if not hosts:
        hosts, ports = _hosts(scheme, env.get("PGHOST", ""), encoded=False)
        if not hosts:
            hosts, ports = _DEFAULT_HOSTS, (0,) * len(_DEFAULT_HOSTS)
    resolved_ports = _ports(ports, query_port, env)
    resolved_user = user_text or env.get("PGUSER") or getpass.getuser()
    for name, var in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("target_session_attrs", "PGTARGETSESSIONATTRS"),
    ):
        if name not in params and env.get(var):
            params[name] = env[var]
    _check_params(params)
    return Target(
        engine="postgresql",
        hosts=tuple(hosts),
        ports=tuple(resolved_ports),
        user=resolved_user,
        password=password_text,
        database=database or env.get("PGDATABASE") or resolved_user,
        params=params,
    )


def _hosts(scheme: str, spec: str, *, encoded: bool = True) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Hosts and their ports (0: not given) from 'h1:p1,[::1]:p2,/socket/dir'."""
    hosts: list[str] = []
    ports: list[int] = []
    for item in filter(None, spec.split(",")):
        text = unquote(item) if encoded else item
        port = ""
        if text.startswith("/"):
            host = text
        elif text.startswith("["):
            host, bracket, after = text[1:].partition("]")
            if not bracket or (after and not after.startswith(":")):
                raise _unparseable(scheme, "an IPv6 host must be written [address] or [address]:port")
            port = after[1:]
        else:
            host, _, port = text.partition(":")
        if port and not port.isdigit():
            raise _unparseable(scheme, f"a port is not a number (a ':' or '@' in the password?); {_ENCODE_HINT}")
        hosts.append(host)
        ports.append(int(port) if port else 0)
    if any(not h for h in hosts):
        raise _unparseable(scheme, "an empty host name in a host list")
    return tuple(hosts), tuple(ports)


def _ports(ports: Sequence[int], given: str | None, env: Mapping[str, str]) -> list[int]:
    """One port per host: the host's own, else ?port=, else $PGPORT, else 5432."""
    fallback_text = given or env.get("PGPORT") or "5432"
    try:
        fallback = [int(p) for p in fallback_text.split(",")]
    except ValueError:
        raise ConfigError("the port of the database URL (or $PGPORT) is not a number") from None
    if len(fallback) == 1:
        fallback = fallback * len(ports)
    if len(fallback) != len(ports):
        raise ConfigError(f"the database URL names {len(ports)} hosts but {len(fallback)} ports")
    return [p or f for p, f in zip(ports, fallback, strict=True)]


def _check_params(params: Mapping[str, str]) -> None:
    mode = params.get("sslmode")
    if mode is not None and mode not in SSL_MODES:
        raise ConfigError(f"sslmode={mode!r} in the database URL; known modes: {', '.join(SSL_MODES)}")
    attrs = params.get("target_session_attrs")
    if attrs is not None and attrs not in _SESSION_ATTRS:
        raise ConfigError(f"target_session_attrs={attrs!r} in the database URL; known: {', '.join(_SESSION_ATTRS)}")
    timeout = params.get("connect_timeout")
    if timeout is not None:
        try:
            ok = float(timeout) >= 0
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"connect_timeout={timeout!r} in the database URL; expected seconds, 0 or more")


# --- scrubbing ------------------------------------------------------------------------------------------

# A scheme, then ':' and at least one more ':' or '/': malformed forms (`postgresql+asyncpg:://`,
# `postgresql:/`) are URL-shaped too, since what follows may hold a password.
_URL_TOKEN = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):[:/]+[^\s'\"<>]*")
_QUERY_PASSWORD = re.compile(r"(?i)(?<![^?&])password=[^&]*")


def _guarded(token: str, scheme: str) -> str:
    """A token that does not parse, shown with everything that may be its password hidden.

    For a database URL, that is everything from the first ':' of the userinfo
    to the token's last '@': a user name holds no ':', and a password pasted
    unencoded may hold '@', ':', '/', '?' or '#'. Another scheme's userinfo
    ends where its authority does (RFC 3986). `password=` values are hidden
    wherever they are.
    """
    head = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:[:/]*", token)
    prefix = head[0] if head else f"{scheme}:"
    # The query's password first: pasted unencoded, it may hold the '@' the userinfo is split at.
    rest = _QUERY_PASSWORD.sub("password=***", token[len(prefix) :])
    if scheme.lower() in _SCHEMES:
        userinfo, at, after = rest.rpartition("@")
    else:
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        userinfo, at, host = rest[:end].rpartition("@")
        after = host + rest[end:]
    if at:
        user, colon, _ = userinfo.partition(":")
        rest = (f"{user}:***" if colon else userinfo) + "@" + after
    return prefix + rest


def _hidden(token: str, scheme: str) -> str:
    """A URL-shaped token as it may be shown: as written but for its password."""
    if ("@" not in token and "password" not in token.lower()) or token == _EXAMPLE_URL:
        return token
    if scheme.lower() not in _SCHEMES or not token.startswith(f"{scheme}://"):
        return _guarded(token, scheme)
    try:
        parse(token, environ={})
    except ConfigError:
        return _guarded(token, scheme)
    # It parses, so its structure is known: the userinfo ends at the '@' before the first '/'.
    rest = token.partition("://")[2]
    head, slash, tail = rest.partition("/")
    userinfo, at, hostspec = head.rpartition("@")
    if at and ":" in userinfo:
        head = userinfo.partition(":")[0] + ":***@" + hostspec
    masked = f"{scheme}://{head}{slash}{tail}"
    before, question, query = masked.partition("?")
    if question:
        query = "&".join("password=***" if part.partition("=")[0] == "password" else part for part in query.split("&"))
    return before + question + query


# A password as a key-value pair: libpq's "password=..." (quoted or not), a dict's 'password': '...'.
_KEY_VALUE = re.compile(
    r"""(?P<key>\bpassword['"]?\s*[=:]\s*)(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;&)}\]]+)""",
    re.IGNORECASE,
)


def _hide_value(m: re.Match[str]) -> str:
    value = m["value"]
    quote_char = value[0] if value[0] in "'\"" else ""
    return f"{m['key']}{quote_char}***{quote_char}"


def scrub(text: str) -> str:
    """`text` with every URL's password hidden: each URL-shaped token is rebuilt from its parsed parts.

    Key-value forms (`password=...`, `'password': '...'`) are hidden the same
    way. Only these structures are touched, so a password that is also an
    ordinary word (`postgres`) leaves the rest of the text intact; in a token
    that does not parse, everything that may be part of a password is hidden
    (see `_guarded`).
    """
    return _KEY_VALUE.sub(_hide_value, _URL_TOKEN.sub(lambda m: _hidden(m[0], m["scheme"]), text))


def scrub_args(argv: Sequence[str]) -> list[str]:
    """Command-line arguments as they may be shown: the value of every URL option and URL token scrubbed."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append(scrub(arg) if "://" in arg else "***")
            hide_next = False
            continue
        name, eq, value = arg.partition("=")
        if name.startswith("--database") or name.endswith("-url"):
            if eq:
                shown.append(f"{name}={scrub(value) if '://' in value else '***'}")
            else:
                shown.append(arg)
                hide_next = True
            continue
        shown.append(scrub(arg))
    return shown
