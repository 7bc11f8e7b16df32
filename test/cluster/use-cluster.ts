/**
 * setupFiles of the `cluster` project: points this test file at the cluster instead of the dev server. Jest gives
 * each test file a copy of process.env, so this does not reach the `integration` project's files.
 */
const address = process.env.OUIJA_TEST_CLUSTER_ADDRESS;
const databaseUrl = process.env.OUIJA_TEST_CLUSTER_DATABASE_URL;
if (!address || !databaseUrl) throw new Error('OUIJA_TEST_CLUSTER_ADDRESS / OUIJA_TEST_CLUSTER_DATABASE_URL are not set (the cluster globalSetup sets them)');
process.env.TEMPORAL_ADDRESS = address;
process.env.OUIJA_TEST_DATABASE_URL = databaseUrl;
