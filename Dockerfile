# recallbot: one image, any number of instances sharing one PostgreSQL database.
# A patch release, not a moving tag: a rebuild gets the same Python until this line is raised.
FROM python:3.11.15-slim

WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY notifiers ./notifiers
COPY storage ./storage
# The project itself, not a package from an index: its dependencies' ranges are in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[postgres]' \
    && groupadd --gid 10001 recallbot && useradd --create-home --uid 10001 --gid 10001 recallbot
USER 10001:10001
WORKDIR /home/recallbot

# Configuration comes from the environment (RECALLBOT_<SECTION>__<KEY>); tokens never go in the image.
# The metrics and health endpoint is on: for the HEALTHCHECK, and for Prometheus on the container's network.
ENV RECALLBOT_METRICS__PORT=9100 RECALLBOT_METRICS__HOST=0.0.0.0
EXPOSE 9100
# The slim image has no curl: Python asks /health (a 503, or no answer, fails the check). The first
# checker pass must end before /health says 200, hence the start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5m --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['RECALLBOT_METRICS__PORT'], timeout=4)"]
CMD ["recallbot", "run"]
