/**
 * The built-in board's generated webhook secret lives outside the data directory (which holds every card's
 * worktree and runs): in `$XDG_STATE_HOME/ouija/<instance>/`, 0700/0600, one per data directory; a secret an
 * earlier Ouija left in `<data>/secrets/` is moved there with its value.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config';
import { builtinWebhookSecret } from '../../../src/cli/services';
import { secretsRoot } from '../../../src/secrets-dir';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ouija-secret-'));
  env = { XDG_STATE_HOME: path.join(dir, 'state'), HOME: path.join(dir, 'home') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const configFor = (dataDir: string) => loadConfig({ cwd: dir, env: {}, overrides: { dataDir } });
const mode = (file: string) => statSync(file).mode & 0o777;

test('is generated outside the data directory, private, once per data directory', () => {
  const data = path.join(dir, 'project', '.ouija');
  const first = builtinWebhookSecret(configFor(data), env);

  expect(first.file).not.toBeNull();
  expect(first.file!.startsWith(`${path.join(dir, 'state', 'ouija')}${path.sep}`)).toBe(true);
  expect(path.relative(data, first.file!).startsWith('..')).toBe(true);
  expect(first.secret).toMatch(/^[0-9a-f]{64}$/);
  expect(mode(first.file!)).toBe(0o600);
  expect(mode(path.dirname(first.file!))).toBe(0o700);
  expect(existsSync(path.join(data, 'secrets'))).toBe(false);
  expect(builtinWebhookSecret(configFor(data), env)).toEqual(first);
  // Another data directory, another secret.
  expect(builtinWebhookSecret(configFor(path.join(dir, 'other', '.ouija')), env).secret).not.toBe(first.secret);
  // Without XDG_STATE_HOME: ~/.local/state.
  expect(secretsRoot({ HOME: '/home/u' })).toBe('/home/u/.local/state/ouija');
});

test("an earlier Ouija's secret in the data directory is moved out, keeping its value", () => {
  const data = path.join(dir, 'project', '.ouija');
  const legacy = path.join(data, 'secrets', 'builtin-webhook-secret');
  mkdirSync(path.dirname(legacy), { recursive: true });
  writeFileSync(legacy, 'configured-with-this\n', { mode: 0o644 });

  const moved = builtinWebhookSecret(configFor(data), env);

  expect(moved.secret).toBe('configured-with-this');
  expect(readFileSync(moved.file!, 'utf8').trim()).toBe('configured-with-this');
  expect(mode(moved.file!)).toBe(0o600);
  expect(existsSync(legacy)).toBe(false);
  expect(existsSync(path.join(data, 'secrets'))).toBe(false);
});

test('OUIJA_BUILTIN_WEBHOOK_SECRET wins and nothing is written', () => {
  const config = loadConfig({ cwd: dir, env: { OUIJA_BUILTIN_WEBHOOK_SECRET: 'from-env' }, overrides: { dataDir: path.join(dir, 'd') } });
  expect(builtinWebhookSecret(config, env)).toEqual({ secret: 'from-env', file: null });
  expect(existsSync(path.join(dir, 'state'))).toBe(false);
});
