"""Masking for `export --mask`: a policy, keyed deterministic transforms, and the leak check.

    policy     the rules of [tool.echelon-seed.mask] or --mask FILE, checked against the schema
    transforms keep, null, const, hash, permute and the fakes: value in, value out, keyed
    key        the key from $ECHELON_MASK_KEY (or the file $ECHELON_MASK_KEY_FILE names)
    rows       a plan bound to a key: rows in, masked rows out, originals' digests recorded
    leaks      the digest file and the scan of fixtures, snapshots or rows for original values
    words      the fakes' word lists

`export` masks each value on its way to fixture form (`Masker.rows`),
writes the digest file beside the fixtures and scans them before they are
published; `check --leaks` runs the same scan later.
"""

from __future__ import annotations

from .key import KEY_ENV, KEY_FILE_ENV, MaskKey, read_key
from .leaks import DIGESTS_FILE, Detector, Leak, LeakError, grouped, scan_directory, scan_rows, scan_snapshot
from .policy import Plan, Policy, load_file, plan
from .rows import Masker

__all__ = [
    "DIGESTS_FILE",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "Detector",
    "Leak",
    "LeakError",
    "MaskKey",
    "Masker",
    "Plan",
    "Policy",
    "grouped",
    "load_file",
    "plan",
    "read_key",
    "scan_directory",
    "scan_rows",
    "scan_snapshot",
]
