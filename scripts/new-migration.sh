#!/usr/bin/env bash
# Add the next Alembic revision, generated from the difference between the models and the history.
#   scripts/new-migration.sh 0003_short_name "what changes"
# Review the file it writes: data moves and server defaults for new NOT NULL columns are yours to add.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 2 ] || [ ${#1} -gt 32 ]; then
  echo "usage: $0 REVISION_ID \"message\"   (e.g. 0003_case_tags \"case tags\"; the id fits in 32 characters)" >&2
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PYTHONPATH="$(pwd)/src"
.venv/bin/python - "$tmp" "$1" "$2" <<'PY'
import sys
from alembic import command
from jiayuan.db.migrate import alembic_config
url = f"sqlite:///{sys.argv[1]}/history.db"
config = alembic_config(url)
command.upgrade(config, "head")
config.set_main_option("file_template", "%%(rev)s")
command.revision(config, message=sys.argv[3], autogenerate=True, rev_id=sys.argv[2])
PY
.venv/bin/ruff format -q src/jiayuan/db/migrations/versions/
.venv/bin/ruff check -q --fix src/jiayuan/db/migrations/versions/ || true
