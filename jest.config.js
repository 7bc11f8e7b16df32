/**
 * Two projects: `unit` (pure, no services) and `integration` (one real Temporal dev server and one real
 * Postgres shared by every file, started in globalSetup). `npx jest --selectProjects unit` runs only the first.
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
  ],
};
