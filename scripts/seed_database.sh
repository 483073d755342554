#!/usr/bin/env bash
# Seed the database: the seed guide's Method 3, a wrapper a team can copy.
#
#   export DATABASE_URL="postgresql://user:pass@host:5432/dbname"   # unset: sqlite:///./dev.db
#   ./scripts/seed_database.sh            # migrations to head, then the fixtures
#   ./scripts/seed_database.sh --force    # clear the seeded tables and reseed
#
# Migrations first, always: `echelon-seed apply` runs the project's Alembic
# migrations to head and then writes the fixtures, in ONE transaction, so a
# failure at any step leaves the database as it was. Every argument is passed
# to `apply` as given (--force, --anchor, --scale, --quiet ...), and the exit
# code is apply's: 0 seeded or already seeded, 2 error or refused, 130/143
# interrupted. It works from any directory: the project is the built-in one
# (projects/echelon, its pyproject.toml), and a relative SQLite path in DATABASE_URL is taken
# from the directory you run it in, as every other command does.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$root/.venv/bin/echelon-seed" ]]; then
    seed="$root/.venv/bin/echelon-seed"
elif command -v echelon-seed >/dev/null 2>&1; then
    seed="$(command -v echelon-seed)"
else
    echo "seed_database.sh: echelon-seed is not installed; run 'make venv' in $root first" >&2
    exit 2
fi

exec "$seed" --project "$root/projects/echelon" apply "$@"
