# The original tool's make targets, mapped onto mastodon-s3-sync.
#   make install            npm ci (builds dist/)
#   make worker | celery    run a worker here (the original's `make celery`)
#   make dashboard | flower dashboard on http://127.0.0.1:5555 (the original's `make flower`)
#   make jobs               queue the four original tables, then the others
#   make du                 docker compose up -d (redis, worker, dashboard)
#   make dj                 queue the jobs inside docker compose
#   make status             progress counters
#   make purge              remove queues and counters (never touches a bucket)
# CONFIG=path/to/config.ini picks another config file (default: private/config.ini).

BIN := ./bin/mastodon-s3-sync
CONFIG ?=
CONFIG_FLAG := $(if $(CONFIG),--config $(CONFIG),)
SEED_TABLES := media_attachments accounts custom_emojis preview_cards
OTHER_TABLES := preview_card_providers site_uploads backups imports
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

.PHONY: install worker celery dashboard flower jobs du dj down status purge test demo

install:
	npm ci

worker celery:
	$(BIN) worker $(CONFIG_FLAG)

dashboard flower:
	$(BIN) dashboard $(CONFIG_FLAG)

jobs:
	$(BIN) jobs $(SEED_TABLES) $(CONFIG_FLAG)
	$(BIN) jobs $(OTHER_TABLES) $(CONFIG_FLAG)

du:
	$(COMPOSE) up -d --build redis worker dashboard

dj:
	$(COMPOSE) run --rm jobs jobs $(SEED_TABLES)
	$(COMPOSE) run --rm jobs jobs $(OTHER_TABLES)

down:
	$(COMPOSE) down

status:
	$(BIN) status $(CONFIG_FLAG)

purge:
	$(BIN) purge --yes $(CONFIG_FLAG)

test:
	npm test

demo:
	npm run demo
