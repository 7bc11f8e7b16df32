/**
 * The pure parts of the cluster launcher: the pinned versions file, where the build is cached, the server's
 * config (Postgres for persistence and visibility) and the dynamic config layering over the shared file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { dynamicConfigFile } from '../../../src/temporal/cluster';
import { dynamicConfigKeys, layerDynamicConfig, SERVER_PORT_NAMES, temporalServerConfig, type TemporalServerPorts } from '../../../src/temporal/server';
import { ouijaCacheDir, parseVersionsEnv, temporalServerVersions } from '../../../src/temporal/server-install';

const ROOT = path.resolve(__dirname, '../../..');

describe('versions.env', () => {
  it('pins the server and the UI server in the file bash sources', () => {
    const versions = temporalServerVersions(ROOT);
    expect(versions.server).toMatch(/^\d+\.\d+\.\d+$/);
    expect(versions.ui).toMatch(/^\d+\.\d+\.\d+$/);
    // The install script reads the same file: every non-comment line is KEY=value, as `source` wants.
    const lines = fs.readFileSync(path.join(ROOT, 'deploy/temporal/versions.env'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    expect(lines.every((l) => /^[A-Z_]+=[^\s]+$/.test(l))).toBe(true);
  });

  it('rejects what bash would not read as an assignment, and a missing key', () => {
    expect(() => parseVersionsEnv('TEMPORAL_SERVER_VERSION = 1.2.3\nTEMPORAL_UI_SERVER_VERSION=2.0.0')).toThrow(/cannot read line/);
    expect(() => parseVersionsEnv('TEMPORAL_SERVER_VERSION=1.2.3')).toThrow(/TEMPORAL_UI_SERVER_VERSION is missing/);
    expect(parseVersionsEnv('# c\n\nTEMPORAL_SERVER_VERSION=1.2.3\nTEMPORAL_UI_SERVER_VERSION=2.0.0\n')).toEqual({ server: '1.2.3', ui: '2.0.0' });
  });
});

describe('ouijaCacheDir', () => {
  it('is OUIJA_CACHE_DIR, else XDG_CACHE_HOME/ouija, else HOME/.cache/ouija: outside the repository', () => {
    expect(ouijaCacheDir({ OUIJA_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(ouijaCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/ouija');
    expect(ouijaCacheDir({ HOME: '/h' })).toBe('/h/.cache/ouija');
    expect(ouijaCacheDir({ XDG_CACHE_HOME: '', HOME: '/h' })).toBe('/h/.cache/ouija');
  });
});

describe('temporalServerConfig', () => {
  const ports = Object.fromEntries(SERVER_PORT_NAMES.map((name, i) => [name, 20_000 + i])) as unknown as TemporalServerPorts;
  const store = (database: string) => ({ host: '127.0.0.1', port: 5432, user: 'temporal', password: 'pw', database });
  const config = temporalServerConfig({ host: '127.0.0.1', ports, persistence: store('temporal'), visibility: store('temporal_visibility'), dynamicConfigFile: '/d.yaml' }) as {
    persistence: { defaultStore: string; visibilityStore: string; datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string } }> };
    services: Record<string, { rpc: { grpcPort: number; membershipPort: number; httpPort?: number } }>;
    clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
    dynamicConfigClient: { filepath: string };
  };

  it('keeps persistence and visibility in Postgres (postgres12), in their two databases', () => {
    const { defaultStore, visibilityStore, datastores } = config.persistence;
    expect(datastores[defaultStore]!.sql).toMatchObject({ pluginName: 'postgres12', databaseName: 'temporal', connectAddr: '127.0.0.1:5432' });
    expect(datastores[visibilityStore]!.sql).toMatchObject({ pluginName: 'postgres12', databaseName: 'temporal_visibility' });
  });

  it('uses every port it was given, once, and names the frontend as the cluster address', () => {
    const used = Object.values(config.services).flatMap(({ rpc }) => [rpc.grpcPort, rpc.membershipPort, ...(rpc.httpPort ? [rpc.httpPort] : [])]);
    expect(used.sort()).toEqual(Object.values(ports).sort());
    expect(config.services.frontend!.rpc.grpcPort).toBe(ports.frontend);
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe(`127.0.0.1:${ports.frontend}`);
    expect(config.dynamicConfigClient.filepath).toBe('/d.yaml');
  });
});

describe('layerDynamicConfig', () => {
  const shared = fs.readFileSync(dynamicConfigFile(ROOT), 'utf8');

  it('reads the keys of the shared file', () => {
    expect(dynamicConfigKeys(shared)).toContain('limit.maxIDLength');
  });

  it('keeps the shared file verbatim and appends the extra keys', () => {
    const layered = layerDynamicConfig(shared, { 'system.namespaceCacheRefreshInterval': '1s', 'frontend.enableX': true }, 'for tests');
    expect(layered.startsWith(shared.trimEnd())).toBe(true);
    expect(dynamicConfigKeys(layered)).toEqual([...dynamicConfigKeys(shared), 'system.namespaceCacheRefreshInterval', 'frontend.enableX']);
    expect(layered).toContain('system.namespaceCacheRefreshInterval:\n  - value: "1s"\n    constraints: {}');
  });

  it('refuses to override a key the shared file sets', () => {
    expect(() => layerDynamicConfig(shared, { 'limit.maxIDLength': 1000 }, 'for tests')).toThrow(/limit\.maxIDLength/);
  });

  it('is the shared file itself when there is nothing to add', () => {
    expect(layerDynamicConfig(shared, {}, 'for tests')).toBe(shared);
  });
});
