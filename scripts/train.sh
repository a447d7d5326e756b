#!/usr/bin/env bash
# Train the model only when its inputs changed: a fingerprint of the configuration, the domain and
# every training file is kept next to the model (file times are not enough: a clone resets them,
# and an edit made during a training would be lost).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=models/ka2.tar.gz
STAMP=models/ka2.fingerprint
fingerprint() {
  # bot/nlu holds a pipeline component, ka2/text.py the text normalisation it trains on.
  { echo config.yml bot/domain.yml ka2/text.py; find bot/data bot/nlu -name '*.yml' -o -name '*.py' | LC_ALL=C sort; } \
    | xargs -n1 | while read -r f; do echo "== $f"; cat "$f"; done | sha256sum | cut -d' ' -f1
}
BEFORE=$(fingerprint)
if [[ -f "$MODEL" && -f "$STAMP" && "$(cat "$STAMP")" == "$BEFORE" ]]; then
  echo "Model up to date ($MODEL)."
  exit 0
fi
.venv/bin/rasa train --config config.yml --domain bot/domain.yml --data bot/data \
  --out models --fixed-model-name ka2
# Record the inputs the model was trained on, as read before the training started.
echo "$BEFORE" > "$STAMP"
