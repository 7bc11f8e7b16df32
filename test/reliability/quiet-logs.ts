/**
 * Imported first by run.ts, before anything loads src/log: the scenarios reject thousands of requests on
 * purpose, and a warning line for each would bury the table. OUIJA_LOG_LEVEL still wins when set.
 */
process.env.OUIJA_LOG_LEVEL ??= 'error';
process.env.TEMPORAL_LOG_LEVEL ??= 'ERROR';
