#!/usr/bin/env bash
# Regenerate the initial migration from the models (before the first release only).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f src/jiayuan/db/migrations/versions/0001_initial.py
export PYTHONPATH="$(pwd)/src"
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from jiayuan.db.migrate import alembic_config
config = alembic_config(f"sqlite:///{sys.argv[1]}/empty.db")
config.set_main_option("file_template", "%%(rev)s")
command.revision(config, message="initial schema", autogenerate=True, rev_id="0001_initial")
PY
.venv/bin/ruff format -q src/jiayuan/db/migrations/versions/
.venv/bin/ruff check -q --fix src/jiayuan/db/migrations/versions/ || true
rm -rf "$tmp"
