#!/usr/bin/env bash
# Extract every translatable text and update the English catalogs: new ids arrive with an empty msgstr to fill,
# ids no longer in the code are dropped. tests/web/test_translations.py fails while one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
LOCALE=src/jiayuan/web/locale
# Besides gettext's own names: N_ and the domain errors (jiayuan.web.i18n.EXTRACT_KEYWORDS).
read -ra KEYWORDS <<< "$(PYTHONPATH=src "$BIN/python" -c \
  'from jiayuan.web.i18n import EXTRACT_KEYWORDS as k; print(" ".join("-k " + w for w in k))')"
"$BIN/pybabel" extract -F babel.cfg "${KEYWORDS[@]}" --no-location -o "$LOCALE/messages.pot" .
"$BIN/pybabel" extract -F babel-scripts.cfg --no-default-keywords -k t --no-location -o "$LOCALE/scripts.pot" .
for domain in messages scripts; do
  if [[ -f "$LOCALE/en/LC_MESSAGES/$domain.po" ]]; then
    "$BIN/pybabel" update --no-fuzzy-matching --ignore-obsolete -D "$domain" -i "$LOCALE/$domain.pot" -d "$LOCALE" -l en
  else
    "$BIN/pybabel" init -D "$domain" -i "$LOCALE/$domain.pot" -d "$LOCALE" -l en
  fi
  rm "$LOCALE/$domain.pot"
done
