#!/bin/sh
# Rasa in production: pre-flight checks, then `rasa run` with the production endpoints (PostgreSQL,
# Redis, action server: deploy/endpoints.prod.yml) and the origins of KA2_ALLOWED_ORIGINS.
# The HTTP API stays off unless KA2_ENABLE_API=1, and then only with RASA_AUTH_TOKEN.
set -eu
cd /app
python scripts/preflight.py --model models/ka2.tar.gz || exit 1
: "${KA2_ALLOWED_ORIGINS:?set KA2_ALLOWED_ORIGINS to the sites allowed to embed the widget (never *)}"
set -f  # "*" must stay a word, not a file list
ORIGINS=$(echo "$KA2_ALLOWED_ORIGINS" | tr ',' ' ')
for origin in $ORIGINS; do
  [ "$origin" != "*" ] || { echo "Refusing to start: KA2_ALLOWED_ORIGINS must list origins, not *." >&2; exit 1; }
done
# REST without a token is for `make run` on one machine: behind a proxy sharing the network namespace
# (a sidecar) every request would come from loopback. Integrations use KA2_REST_TOKEN.
case "${KA2_REST_OPEN:-0}" in
  1|true|yes|on|oui) echo "Refusing to start: KA2_REST_OPEN is for make run only; set KA2_REST_TOKEN for REST." >&2; exit 1 ;;
esac
API=""
if [ "${KA2_ENABLE_API:-0}" = 1 ]; then
  [ -n "${RASA_AUTH_TOKEN:-}" ] || { echo "Refusing to start: KA2_ENABLE_API=1 requires RASA_AUTH_TOKEN." >&2; exit 1; }
  API="--enable-api --auth-token $RASA_AUTH_TOKEN"
fi
# shellcheck disable=SC2086 # origins are space-separated on purpose
exec python -m bot.server run --model models/ka2.tar.gz --endpoints deploy/endpoints.prod.yml \
  --credentials deploy/credentials.prod.yml --port 5005 --cors $ORIGINS $API "$@"
