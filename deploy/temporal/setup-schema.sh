#!/bin/sh
# Creates Temporal's two Postgres databases (persistence and SQL visibility) and brings their schemas up to the
# version the server expects. Safe to run on every start: create-database accepts an existing database,
# setup-schema -v 0.0 only adds the version tables when they are missing, update-schema applies only the versions
# not yet applied. docker-compose.temporal.yml runs it in the temporalio/admin-tools image (same version as the
# server, so the schema files match it) before the server starts.
#
# Connection (read by temporal-sql-tool itself): SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD.
# Optional: TEMPORAL_SQL_TOOL (default temporal-sql-tool on PATH), TEMPORAL_SCHEMA_DIR (default the admin-tools
# image's /etc/temporal/schema/postgresql/v12; natively: <go.temporal.io/server module>/schema/postgresql/v12),
# DBNAME and VISIBILITY_DBNAME (default temporal and temporal_visibility, the names the server's config uses).
set -eu

: "${SQL_HOST:?SQL_HOST must name the Postgres host}"
: "${SQL_USER:?SQL_USER must name the role that owns the Temporal databases}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"

tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
schema_dir=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

# setup_database NAME SCHEMA: SCHEMA is the folder under $schema_dir (temporal or visibility).
setup_database() {
  echo "setup-schema: database $1 ($2 schema)"
  "$tool" --plugin postgres12 --db "$1" create-database
  "$tool" --plugin postgres12 --db "$1" setup-schema -v 0.0
  "$tool" --plugin postgres12 --db "$1" update-schema -d "$schema_dir/$2/versioned"
}

setup_database "${DBNAME:-temporal}" temporal
setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "setup-schema: done"
