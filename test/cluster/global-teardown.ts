/** Jest globalTeardown of the `cluster` project: stops the cluster global-setup.ts started, nothing else. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__OUIJA_TEST_CLUSTER__?.stop();
  globalThis.__OUIJA_TEST_CLUSTER__ = undefined;
}
