/**
 * Three projects: `unit` (pure, no services), `integration` (one real Temporal dev server and one real
 * Postgres shared by every file, started in globalSetup) and `cluster` (the lifecycle files again, unchanged, and
 * the cluster launcher's own tests, against one real Temporal server on Postgres: test/cluster/global-setup.ts).
 * `npx jest --selectProjects unit` runs only the first.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
module.exports = {
  maxWorkers: 2,
  // Integration tests run real servers and agent processes; unit tests finish far sooner.
  testTimeout: 180000,
  projects: [
    { displayName: 'unit', testEnvironment: 'node', roots: ['<rootDir>/test/unit'], transform },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      transform,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      displayName: 'cluster',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: [
        '<rootDir>/test/integration/lifecycle/{happy-path,cancel-and-failure,parallel-group}.test.ts',
        '<rootDir>/test/cluster/**/*.test.ts',
      ],
      transform,
      globalSetup: '<rootDir>/test/cluster/global-setup.ts',
      globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
      setupFiles: ['<rootDir>/test/cluster/use-cluster.ts'],
    },
  ],
};
