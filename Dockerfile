# One image for every browserq service (api, worker, flower): Debian's Chromium
# and the package. Build: docker compose build; run: see docker-compose.yml.
FROM python:3.11-slim-bookworm

# Debian's Chromium (Playwright drives it through BROWSERQ_CHROMIUM_PATH), its headless
# shell (the lean browser kind) and Xvfb (the headful kind's virtual display), and fonts
# so pages render text. Chromium's crashpad helpers are reaped by the `init: true`
# process (tini) that compose runs as PID 1.
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium chromium-headless-shell xvfb \
       fonts-liberation fonts-noto-color-emoji curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The locked versions first (their own layer: it changes only when the lock does),
# then the package itself without resolving anything again.
COPY requirements/run.txt ./requirements/run.txt
RUN pip install --no-cache-dir -r requirements/run.txt
COPY pyproject.toml README.md ./
COPY api ./api
COPY shared ./shared
COPY cli ./cli
COPY worker ./worker
RUN pip install --no-cache-dir --no-deps .

RUN useradd --create-home browserq && mkdir -p /data && chown browserq /data
USER browserq
ENV BROWSERQ_CHROMIUM_PATH=/usr/bin/chromium \
    BROWSERQ_DATA_DIR=/data \
    PYTHONUNBUFFERED=1 \
    REMAP_SIGTERM=SIGQUIT
EXPOSE 8000
CMD ["browserq", "api", "--host", "0.0.0.0", "--port", "8000"]
