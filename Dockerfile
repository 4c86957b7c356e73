# recallbot: one image, any number of instances sharing one PostgreSQL database.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY notifiers ./notifiers
COPY storage ./storage
RUN pip install --no-cache-dir '.[postgres]' && useradd --create-home recallbot
USER recallbot
WORKDIR /home/recallbot

# Configuration comes from the environment (RECALLBOT_<SECTION>__<KEY>); tokens never go in the image.
CMD ["recallbot", "run"]
