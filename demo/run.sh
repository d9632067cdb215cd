#!/usr/bin/env bash
# `make demo`: serve the bundled demo blog on 127.0.0.1, run the whole pipeline
# into a fresh SQLite file, then show what it found. Needs only .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LN=.venv/bin/linernotes
OUT=demo-out
rm -rf "$OUT" && mkdir -p "$OUT"
export LINERNOTES_DB="sqlite:///$PWD/$OUT/demo.db"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

$PY demo/serve.py --port 0 --port-file "$OUT/port" --write-sources "$OUT/sources.toml" \
    >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$OUT/port" ] && break; sleep 0.1; done
[ -s "$OUT/port" ] || { echo "demo server did not start (see $OUT/server.log)" >&2; exit 1; }
echo "demo blog served at http://127.0.0.1:$(cat "$OUT/port")/"

echo "== catalogue"
$LN catalog import demo/catalog.csv
echo "== crawl, extract, embed"
$LN run --sources "$OUT/sources.toml"

echo "== what was found"
$LN sql "SELECT label, count(*) AS mentions, count(entity_id) AS linked FROM mentions GROUP BY label ORDER BY label"
track=$($LN sql --csv "SELECT entity_id FROM descriptors WHERE entity_kind = 'track' GROUP BY entity_id ORDER BY sum(count) DESC LIMIT 1" | tail -n 1)
if [ -n "$track" ] && [ "$track" != "entity_id" ]; then
  echo "== profile of track $track"
  $LN descriptors --track "$track" -n 10
  $LN similar --track "$track" -k 5 || true
  if $LN report --help >/dev/null 2>&1; then
    $LN report --track "$track" --out "$OUT/profile.html"
    echo "profile page: file://$PWD/$OUT/profile.html  (or: linernotes serve)"
  fi
fi
echo "== trending artists (distinct sources, then posts)"
$LN trending --kind artist --days 3650 -n 5 --posts 1
echo "database: $OUT/demo.db"
echo
echo "Next, as in the README's \"Using it\" (copy these two lines):"
echo "  . .venv/bin/activate"
echo "  export LINERNOTES_DB=\"$LINERNOTES_DB\""
