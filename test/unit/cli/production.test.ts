/** What `ouija worker` and `ouija api` require before they start (src/cli/production.ts). */
import os from 'node:os';
import { loadConfig, ConfigError } from '../../../src/config';
import { isLoopback, portFrom, ProductionConfigError, requireSharedServices, requireTokenOffLoopback } from '../../../src/cli/production';
import { hostIdFor } from '../../../workers/host';
import { HOST_ID } from '../../../workflows/messages';

const config = (env: NodeJS.ProcessEnv) => loadConfig({ cwd: os.tmpdir(), env });

test('worker and api refuse to start without a shared Postgres, and say why', () => {
  expect(() => requireSharedServices('worker', config({ TEMPORAL_ADDRESS: 't:7233' }))).toThrow(ProductionConfigError);
  expect(() => requireSharedServices('api', config({ TEMPORAL_ADDRESS: 't:7233' }))).toThrow(/DATABASE_URL is required for `ouija api`.*private embedded database/);
  expect(() => requireSharedServices('worker', config({ DATABASE_URL: 'postgres://x@y/z' }))).toThrow(/TEMPORAL_ADDRESS is required/);
  expect(requireSharedServices('worker', config({ DATABASE_URL: 'postgres://x@y/z', TEMPORAL_ADDRESS: 't:7233' }))).toEqual({ temporalAddress: 't:7233' });
});

test('HOST defaults to loopback; a listener other machines reach needs OUIJA_API_TOKEN', () => {
  expect(config({}).host).toBe('127.0.0.1');
  expect(config({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '0:0:0:0:0:0:0:1']) {
    expect(isLoopback(host)).toBe(true);
    expect(() => requireTokenOffLoopback(host, undefined)).not.toThrow();
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.org', '128.0.0.1']) {
    expect(isLoopback(host)).toBe(false);
    expect(() => requireTokenOffLoopback(host, undefined)).toThrow(/set OUIJA_API_TOKEN/);
    expect(() => requireTokenOffLoopback(host, '')).toThrow(ProductionConfigError);
    expect(() => requireTokenOffLoopback(host, 'secret')).not.toThrow();
  }
});

test('ports from the environment are checked', () => {
  expect(portFrom('WORKER_PORT', undefined)).toBeUndefined();
  expect(portFrom('WORKER_PORT', '3001')).toBe(3001);
  expect(portFrom('WORKER_PORT', '0')).toBe(0);
  for (const bad of ['x', '-1', '65536', '3.5']) expect(() => portFrom('WORKER_PORT', bad)).toThrow(/WORKER_PORT must be a port number/);
  expect(() => config({ PORT: 'eighty' })).toThrow(ConfigError);
  expect(config({ PORT: '4000' }).port).toBe(4000);
});

test('a host ID is stable for a data directory, different for another, and can be set', () => {
  const a = hostIdFor({ dataDir: '/srv/ouija-a', workers: {} }, {});
  expect(hostIdFor({ dataDir: '/srv/ouija-a', workers: {} }, {})).toBe(a);
  expect(hostIdFor({ dataDir: '/srv/ouija-b', workers: {} }, {})).not.toBe(a);
  expect(a).toMatch(HOST_ID);
  expect(hostIdFor({ dataDir: '/x', workers: { hostId: 'gpu-1' } }, {})).toBe('gpu-1');
  expect(hostIdFor({ dataDir: '/x', workers: { hostId: 'gpu-1' } }, { OUIJA_HOST_ID: 'pod-7' })).toBe('pod-7');
  expect(() => hostIdFor({ dataDir: '/x', workers: {} }, { OUIJA_HOST_ID: 'has space' })).toThrow(/must match/);
});
