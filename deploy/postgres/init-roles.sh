#!/bin/sh
# Makes the Postgres roles and database of docker-compose.temporal.yml match the environment, on every start:
#   temporal  LOGIN CREATEDB, password TEMPORAL_DB_PASSWORD (Temporal's schema job creates its databases with it)
#   ouija     LOGIN, password OUIJA_DB_PASSWORD, owner of the database `ouija` (Ouija's own tables)
# A role that exists gets its password set again, so changing a password in the environment and running
# `docker compose up` again is how it is rotated. Connects as the superuser through PGHOST, PGUSER, PGPASSWORD.
set -eu

: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set}"
: "${OUIJA_DB_PASSWORD:?OUIJA_DB_PASSWORD must be set}"

# psql substitutes :'name' (a quoted literal) in what it reads from stdin, not in -c, hence the here-document;
# the passwords never appear on a command line. \gexec runs the statement the query returns, if any.
psql -X -q -v ON_ERROR_STOP=1 -v temporal_pw="$TEMPORAL_DB_PASSWORD" -v ouija_pw="$OUIJA_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE temporal' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal') \gexec
ALTER ROLE temporal WITH LOGIN CREATEDB PASSWORD :'temporal_pw';
SELECT 'CREATE ROLE ouija' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ouija') \gexec
ALTER ROLE ouija WITH LOGIN NOCREATEDB PASSWORD :'ouija_pw';
SELECT 'CREATE DATABASE ouija OWNER ouija' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ouija') \gexec
SQL
echo "init-roles: roles temporal and ouija, database ouija ready"
