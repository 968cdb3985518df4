#!/bin/bash
# 20-storygate-reader.sh: second init script of the compose demo's PostgreSQL container
# (mounted into /docker-entrypoint-initdb.d; it runs once, when the data volume is new,
# after 10-demo-database.sql has created the database content and the role).
#
# scripts/demo-database.sql creates storygate_reader without a password (the local demo
# cluster trusts its connections). In the container storygate connects over the network,
# which the postgres image guards with scram-sha-256, so the role gets the password from
# STORYGATE_READER_PASSWORD here. The value is read from the environment by psql itself
# (\getenv), so it never appears on a command line.
#
# No `set -euo pipefail`: the image's entrypoint sources a script that is not executable,
# and must not inherit options from it; psql's ON_ERROR_STOP makes a failure fatal.

: "${STORYGATE_READER_PASSWORD:?set STORYGATE_READER_PASSWORD for the db service}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" \
     --dbname "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" <<'SQL' || exit 1
\getenv reader_password STORYGATE_READER_PASSWORD
ALTER ROLE storygate_reader PASSWORD :'reader_password';
SQL
echo "20-storygate-reader.sh: storygate_reader can now log in with its password"
