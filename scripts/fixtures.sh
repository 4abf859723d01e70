#!/usr/bin/env bash
# Regenerates the test fixtures under testdata/ (rdb/, psync/, redis-assets/) with
# real servers: Redis 4.0.14, 5.0.14, 6.2.16, 7.2.6, 7.4.1 and Valkey 8.0.1 from
# ../shared/redis/ (or $XSYNC_REDIS_VERSIONS), Debian's redis-server 7.0.15 from PATH. See
# testdata/README.md for what the files hold and how they are made.
#
#   scripts/fixtures.sh                 # all versions into testdata/
#   scripts/fixtures.sh -versions 7.4.1 # one version (valkey-8.0.1 for Valkey)
#   ASSETS=~/src/redis/tests/assets scripts/fixtures.sh   # also recopy the Redis test assets
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
REDIS_DIR="${XSYNC_REDIS_VERSIONS:-../shared/redis}"
args=(-redis "$REDIS_DIR" -out testdata)
if [ -n "${ASSETS:-}" ]; then
	args+=(-assets "$ASSETS")
fi
go run ./scripts/fixturegen "${args[@]}" "$@"
echo "fixtures: written under testdata/; check them with" >&2
echo "  go test -count=1 ./replicator/rdb/ ./resp/ ./replicator/translate/ ./replicator/source/ ./replicator/snapshot/" >&2
