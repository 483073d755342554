"""The masking key: read from the environment only, and never shown.

The key comes from `$ECHELON_MASK_KEY`, or from the file named by
`$ECHELON_MASK_KEY_FILE` (a secret mounted by CI or a vault agent); never from
the policy, the fixtures or the command line, where it would end up in shell
history, a repository or a process listing. `MaskKey` holds it in a slot, and
its repr, str and error messages name only where it came from. What the
transforms and the leak digests use is not the key itself but keys derived
from it with BLAKE2b, one per purpose, so that no output is a function of the
raw key alone.
"""

from __future__ import annotations

import os
from hashlib import blake2b
from pathlib import Path

from echelon_seed.errors import ConfigError

__all__ = ["KEY_ENV", "KEY_FILE_ENV", "MIN_LENGTH", "MaskKey", "read_key"]

#: The environment variable holding the key itself.
KEY_ENV = "ECHELON_MASK_KEY"
#: The environment variable naming a file that holds the key.
KEY_FILE_ENV = "ECHELON_MASK_KEY_FILE"
#: A shorter key is refused: it could be found by trying every word of a dictionary.
MIN_LENGTH = 16


class MaskKey:
    """A secret masking key; derive purpose keys from it, never print it."""

    __slots__ = ("_master", "source")

    def __init__(self, secret: bytes, source: str) -> None:
        if len(secret) < MIN_LENGTH:
            raise ConfigError(
                f"the masking key from {source} is shorter than {MIN_LENGTH} bytes; "
                "use a long random one (python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        # BLAKE2b takes keys of up to 64 bytes: a key of any length is first reduced to one.
        self._master = blake2b(secret, digest_size=64, person=b"echelon-mask").digest()
        self.source = source

    def derive(self, purpose: str) -> bytes:
        """A 64-byte key for one purpose (a transform's name, the leak digests)."""
        return blake2b(purpose.encode("utf-8"), key=self._master, digest_size=64).digest()

    def __repr__(self) -> str:
        return f"MaskKey(from {self.source}, hidden)"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a MaskKey is not pickled: it would write the key where it can be read")


def read_key(environ: dict[str, str] | None = None) -> MaskKey:
    """The key from $ECHELON_MASK_KEY or the file named by $ECHELON_MASK_KEY_FILE; refuse without one."""
    env = os.environ if environ is None else environ
    text, named = env.get(KEY_ENV), env.get(KEY_FILE_ENV)
    if text and named:
        raise ConfigError(f"both ${KEY_ENV} and ${KEY_FILE_ENV} are set; set only one, so the key is not ambiguous")
    if text:
        return MaskKey(text.encode("utf-8"), f"${KEY_ENV}")
    if named:
        path = Path(named)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"${KEY_FILE_ENV} names {path}, which cannot be read ({exc.strerror})") from None
        # A file written by `echo` ends in a newline that is not part of the key.
        return MaskKey(data.rstrip(b"\r\n"), f"${KEY_FILE_ENV} ({path})")
    raise ConfigError(
        f"masking needs a key: set ${KEY_ENV} (or ${KEY_FILE_ENV} to a file holding it); "
        "it is never read from the policy or the fixtures, and the same key gives the same masked values"
    )
