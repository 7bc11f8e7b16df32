// Lint rules that guard the architecture: workflow code is deterministic (no Node built-ins, no I/O),
// and the pure core imports nothing with I/O or Temporal.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);
const ioPackages = ['pg', 'kysely', 'kysely-pglite-dialect', '@electric-sql/pglite', 'simple-git', 'express', 'pino', 'undici', '@octokit/*', 'commander'];
const noIo = (extra, why) => ({
  '@typescript-eslint/no-restricted-imports': ['error', { paths: nodeBuiltins.map((name) => ({ name, message: why, allowTypeImports: true })), patterns: [{ group: [...ioPackages, ...extra], message: why, allowTypeImports: true }] }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.ouija/**', '.cache/**', 'coverage/**', 'bin/**', 'jest.config.js', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // An unawaited promise is a bug here unless it says so with `void` (a deliberate fire-and-forget).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: noIo(['../src/plugins/*', '../src/db/*', '../src/ingest/*', '../src/http/*', '../activities/*', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], 'Workflow code must be deterministic: no Node built-ins, no I/O. Put it in an activity.'),
  },
  {
    files: ['src/core/**/*.ts'],
    rules: noIo(['@temporalio/*', '../plugins/*', '../db/*'], 'src/core is the pure transition function: no I/O, no Temporal.'),
  },
);
