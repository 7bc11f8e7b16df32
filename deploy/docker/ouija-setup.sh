#!/bin/sh
# The one-shot `ouija-setup` service of docker-compose.temporal.yml: `ouija setup` (the namespace and Ouija's
# search attributes), then `ouija migrate` (Ouija's tables), before any api or worker starts.
#
# A Temporal server that has just opened its frontend port may still refuse requests while its services join
# the cluster, so `ouija setup` is tried up to OUIJA_SETUP_ATTEMPTS times (default 30), OUIJA_SETUP_RETRY_SECONDS
# apart (default 2). Any other failure, and a failed migration, ends the service with a non-zero status, which
# keeps the api and the worker from starting.
set -eu

ouija="$(dirname "$0")/../../bin/ouija.js"
attempts=${OUIJA_SETUP_ATTEMPTS:-30}
pause=${OUIJA_SETUP_RETRY_SECONDS:-2}

attempt=1
until node "$ouija" setup; do
  if [ "$attempt" -ge "$attempts" ]; then
    echo "ouija-setup: \`ouija setup\` failed $attempts times; giving up" >&2
    exit 1
  fi
  echo "ouija-setup: \`ouija setup\` failed (attempt $attempt of $attempts); trying again in ${pause}s" >&2
  attempt=$((attempt + 1))
  sleep "$pause"
done
exec node "$ouija" migrate
