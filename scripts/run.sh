#!/usr/bin/env bash
# Start, in the foreground, the action server (:5055), the demo page with the chat widget (:8000), the
# staff web console (:8001, KA2_STAFF_SECRET generated per run when unset) and
# Rasa (:5005: REST, socketio for the widget, Telegram when TELEGRAM_TOKEN is set); Ctrl-C stops all.
# `scripts/run.sh shell` opens a terminal chat instead of the HTTP servers.
# Variables: KA2_MODEL (models/ka2.tar.gz), KA2_KNOWLEDGE_DIR (knowledge), WEB_PORT (8000),
# RASA_PUBLIC_URL (the Rasa URL browsers use, http://localhost:5005), KA2_ACTIONS_HOST (127.0.0.1: the action
# server listens on loopback, where Rasa calls it),
# TELEGRAM_TOKEN, TELEGRAM_BOT_NAME, TELEGRAM_WEBHOOK_URL, TELEGRAM_SECRET_TOKEN, TELEGRAM_API_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p var logs
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 RASA_TELEMETRY_ENABLED=false
# The REST channel without a token, for clients on this machine only (127.0.0.1/::1, judged by the
# socket's peer address): in production it needs KA2_REST_TOKEN (bot/channels/rest.py).
export KA2_REST_OPEN=${KA2_REST_OPEN:-1}
WEB_PORT=${WEB_PORT:-8000}
RASA_PUBLIC_URL=${RASA_PUBLIC_URL:-http://localhost:5005}

# Refuse to start, with one line per problem, on a missing or corrupt model, an invalid knowledge base
# or a missing spaCy model (scripts/preflight.py).
MODEL=${KA2_MODEL:-models/ka2.tar.gz}
"$BIN/python" scripts/preflight.py --model "$MODEL" || exit 1

PIDS=()
stop() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 0' INT TERM EXIT

# rasa_sdk directly: `rasa run actions` would import Rasa's command line (50 MB) for nothing. Rasa
# reaches it on loopback; nothing else should (KA2_ACTIONS_HOST=0.0.0.0 to expose it anyway).
SANIC_HOST=${KA2_ACTIONS_HOST:-127.0.0.1} "$BIN/python" -m rasa_sdk --actions bot.actions --port 5055 >logs/actions.log 2>&1 &
ACTIONS_PID=$!
PIDS+=("$ACTIONS_PID")

# Wait until the action server answers (it exits at once if the knowledge base is invalid).
for _ in $(seq 1 60); do
  if ! kill -0 "$ACTIONS_PID" 2>/dev/null; then
    echo "The action server stopped:"; tail -n 5 logs/actions.log; exit 1
  fi
  curl -fs http://127.0.0.1:5055/health >/dev/null && break
  sleep 0.5
done
echo "Action server ready on http://127.0.0.1:5055 (log: logs/actions.log)"

if [[ "${1:-}" == "shell" ]]; then
  "$BIN/python" -m bot.server shell --model "$MODEL" --endpoints endpoints.yml
  exit 0
fi

"$BIN/python" scripts/serve_web.py --port "$WEB_PORT" --server-url "$RASA_PUBLIC_URL" >logs/web.log 2>&1 &
PIDS+=("$!")
echo "Demo page with the chat widget on http://localhost:$WEB_PORT/ (log: logs/web.log)"

# The staff web console on 127.0.0.1:8001, over the same databases (staff/web).
if [[ -z "${KA2_STAFF_SECRET:-}" ]]; then
  KA2_STAFF_SECRET=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
  export KA2_STAFF_SECRET
  echo "Staff console: KA2_STAFF_SECRET not set, a new one was generated for this run (sessions end when it stops)."
fi
"$BIN/python" -m staff.web >logs/staff-web.log 2>&1 &
PIDS+=("$!")
echo "Staff console on http://${KA2_STAFF_HOST:-127.0.0.1}:${KA2_STAFF_PORT:-8001}/ (log: logs/staff-web.log)."
echo "  First account: $BIN/ka2-staff users add you@example.org --agency all   (bij | aef | all; asks for the password)"

CREDENTIALS=credentials.yml
if [[ -n "${TELEGRAM_TOKEN:-}" ]]; then
  # The token and the other settings stay in the environment, never in a file.
  CREDENTIALS=var/credentials.yml
  { cat credentials.yml; printf '\nbot.channels.telegram.TelegramInput:\n'; } >"$CREDENTIALS"
  echo "Telegram: on, webhook /webhooks/telegram/webhook registered at ${TELEGRAM_WEBHOOK_URL:-<TELEGRAM_WEBHOOK_URL not set>}"
else
  echo "Telegram: off (set TELEGRAM_TOKEN to turn it on, see the README)."
fi

echo "Rasa starting on http://localhost:5005 (REST: /webhooks/rest/webhook, socketio: /socket.io). Ctrl-C stops everything."
"$BIN/python" -m bot.server run --model "$MODEL" --endpoints endpoints.yml --credentials "$CREDENTIALS" \
  --port 5005 --cors "http://localhost:$WEB_PORT" "http://127.0.0.1:$WEB_PORT" &
PIDS+=("$!")
wait "$!"
