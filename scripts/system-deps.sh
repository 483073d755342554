#!/usr/bin/env bash
# Installs the system packages echelon-seed's set-up needs, only those missing:
#   python3 with venv (always), make (always), the PostgreSQL server (with --postgres,
#   for the test suite, which starts its own throwaway server).
# Debian/Ubuntu via apt-get as root; elsewhere it says what to install and fails.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
say() { printf '==> %s\n' "$*" >&2; }

missing=()
command -v make >/dev/null 2>&1 || missing+=(make)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [[ ${1:-} == --postgres ]] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
    && ! command -v initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi
# The documentation's transcripts (tests/test_docs.py) use the sqlite3 shell.
[[ ${1:-} == --postgres ]] && ! command -v sqlite3 >/dev/null 2>&1 && missing+=(sqlite3)
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing system packages: ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]}) and run again"
    exit 1
fi
say "installing from Debian: ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
