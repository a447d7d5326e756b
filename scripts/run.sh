#!/usr/bin/env bash
# Start the action server and Rasa (REST + socketio) in the foreground; Ctrl-C stops both.
# `scripts/run.sh shell` opens a terminal chat instead of the HTTP server.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p var logs
export SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2

"$BIN/rasa" run actions --actions bot.actions --port 5055 >logs/actions.log 2>&1 &
ACTIONS_PID=$!
trap 'kill "$ACTIONS_PID" 2>/dev/null; wait "$ACTIONS_PID" 2>/dev/null; exit 0' INT TERM EXIT

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
  "$BIN/rasa" shell --model models/ka2.tar.gz --endpoints endpoints.yml
else
  echo "Rasa starting on http://localhost:5005 (REST: /webhooks/rest/webhook, socketio: /socket.io). Ctrl-C stops everything."
  "$BIN/rasa" run --model models/ka2.tar.gz --endpoints endpoints.yml --credentials credentials.yml \
    --port 5005 --cors "http://localhost:8000"
fi
