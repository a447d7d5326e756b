# Two images from the project, same pinned dependencies as the tests (requirements.lock):
#   docker build --target rasa -t ka2-rasa .       Rasa 3.6.21 (official image) + the project's channels,
#                                                   trained model and knowledge base
#   docker build --target actions -t ka2-actions . the action server
# Train first (`make train`: models/ka2.tar.gz) and fetch the widget's client (`make web-deps`).
# docker-compose.yml builds and runs both with PostgreSQL, Redis and nginx.

FROM rasa/rasa:3.6.21 AS rasa
USER root
WORKDIR /app
COPY requirements.lock ./
# Same versions as the tests (spaCy 3.8 and fr_core_news_md, socketio 5.9...), into the image's venv.
RUN pip install --no-cache-dir "uv==0.5.4" \
 && uv pip sync --python /opt/venv/bin/python --no-cache requirements.lock
COPY bot/ bot/
COPY knowledge/ knowledge/
COPY scripts/preflight.py scripts/
COPY deploy/ deploy/
COPY models/ka2.tar.gz models/
RUN chmod +x deploy/rasa-entrypoint.sh && chown -R 1001 /app
USER 1001
ENV RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=/app
EXPOSE 5005
ENTRYPOINT ["deploy/rasa-entrypoint.sh"]

FROM python:3.10-slim AS actions
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir "uv==0.5.4" \
 && uv pip sync --system --no-cache requirements.lock
COPY bot/ bot/
COPY knowledge/ knowledge/
RUN useradd --uid 1001 --no-create-home ka2
USER 1001
ENV RASA_TELEMETRY_ENABLED=false PYTHONPATH=/app
EXPOSE 5055
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=3)"
CMD ["python", "-m", "rasa_sdk", "--actions", "bot.actions", "--port", "5055"]

# The staff web console (staff/web), from the action server's image plus the core and the staff package.
# Needs staff/web/static/vendor/ (chart.js), copied by `make web-deps` before the build.
FROM actions AS staff
COPY ka2/ ka2/
COPY staff/ staff/
COPY scripts/knowledge.py scripts/
EXPOSE 8001
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/connexion', timeout=3)"
CMD ["python", "-m", "staff.web"]
