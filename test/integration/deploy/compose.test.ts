/**
 * docker-compose.temporal.yml, resolved by the real `docker-compose config` (no Docker engine needed; nothing is
 * pulled or started): the production shape's services, versions, wiring, secrets and start order.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  argv,
  composeConfig,
  dependsOn,
  fileExists,
  hostPathOf,
  mounts,
  parseConfig,
  parseDockerfile,
  ports,
  rawCompose,
  repoPathOfImagePath,
  ROOT,
  runWords,
  stages,
  type ComposeConfig,
  type Service,
} from './helpers';

/** The secrets the file must refuse to start without. */
const REQUIRED_SECRETS = ['POSTGRES_PASSWORD', 'TEMPORAL_DB_PASSWORD', 'OUIJA_DB_PASSWORD', 'OUIJA_API_TOKEN'];
const SERVICES = ['postgres', 'postgres-init', 'temporal-schema', 'temporal', 'temporal-ui', 'ouija-setup', 'ouija-api', 'ouija-worker'];
const ONE_SHOTS = ['postgres-init', 'temporal-schema', 'ouija-setup'];
/** Variable names that hold secrets (the values must come from the environment). */
const SECRET_NAME = /PASSWORD|PWD|TOKEN|SECRET|_KEY$/;

/** deploy/temporal/versions.env: KEY=value lines, shared with the native cluster. */
const versionsFile = Object.fromEntries(
  readFileSync(path.join(ROOT, 'deploy/temporal/versions.env'), 'utf8')
    .split('\n')
    .map((line) => /^([A-Z_]+)=(\S+)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
) as Record<string, string | undefined>;
const versions = { server: versionsFile.TEMPORAL_SERVER_VERSION ?? '', ui: versionsFile.TEMPORAL_UI_SERVER_VERSION ?? '' };
/** Distinct, URL-safe dummies, new each run, so a value found in the output can only have come from here. */
const dummies: Record<string, string> = Object.fromEntries(REQUIRED_SECRETS.map((name) => [name, `dummy${randomBytes(8).toString('hex')}`]));

let config: ComposeConfig;
const service = (name: string): Service => {
  const s = config.services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
};
const env = (name: string): Record<string, string | null> => service(name).environment ?? {};
const healthcheckArgv = (name: string) => argv(service(name).healthcheck?.test);

const finalStage = stages(parseDockerfile()).at(-1)!;
const imageEnv = Object.fromEntries(
  finalStage.instructions.filter((i) => i.getKeyword() === 'ENV').flatMap((i) => runWords(i).map((w) => w.split('=', 2) as [string, string])),
);

beforeAll(async () => {
  const result = await composeConfig(dummies);
  if (result.code !== 0) throw new Error(`docker-compose config failed (${result.code}): ${result.stderr}`);
  config = parseConfig(result.stdout);
}, 15 * 60_000);

test('resolves to every service of the production shape', () => {
  expect(Object.keys(config.services).sort()).toEqual([...SERVICES].sort());
});

test('Temporal server and admin tools are the native cluster version; the Web UI is pinned to the same file', () => {
  expect(service('temporal').image).toBe(`temporalio/server:${versions.server}`);
  // The schema files come with the admin tools: the same version as the server, or the schema would not match it.
  expect(service('temporal-schema').image).toBe(`temporalio/admin-tools:${versions.server}`);
  expect(service('temporal-ui').image).toBe(`temporalio/ui:${versions.ui}`);
  expect(versions.server).toMatch(/^\d+\.\d+\.\d+$/);
  expect(versions.ui).toMatch(/^\d+\.\d+\.\d+$/);
});

test('Postgres: the official image at a pinned major, with a health check the others wait for', () => {
  const image = service('postgres').image ?? '';
  expect(image).toMatch(/^postgres:\d+(-[a-z]+)?$/);
  expect(service('postgres-init').image).toBe(image);
  const probe = healthcheckArgv('postgres');
  expect(probe).toContain('pg_isready');
  // Over TCP, as its clients connect: a socket probe passes during initdb's temporary, socket-only server.
  expect(probe[probe.indexOf('-h') + 1]).toMatch(/^(127\.0\.0\.1|localhost)$/);
  expect(mounts(service('postgres'))).toContainEqual(expect.objectContaining({ target: '/var/lib/postgresql/data', named: true }));
});

test('the Temporal server keeps persistence and visibility in Postgres, in the databases the schema job creates', () => {
  const server = env('temporal');
  const schema = env('temporal-schema');
  expect(server.DB).toBe('postgres12');
  expect(server.ENABLE_ES ?? 'false').not.toBe('true'); // visibility would go to Elasticsearch instead
  expect(service(server.POSTGRES_SEEDS!).image).toMatch(/^postgres:/);
  expect(server.DBNAME).toBeTruthy();
  expect(server.VISIBILITY_DBNAME).toBeTruthy();
  expect(server.VISIBILITY_DBNAME).not.toBe(server.DBNAME);
  // The schema job works on the same server, databases and role the server uses.
  expect(schema.SQL_PLUGIN).toBe('postgres12');
  expect(schema.SQL_HOST).toBe(server.POSTGRES_SEEDS);
  expect(schema.SQL_PORT).toBe(server.DB_PORT);
  expect(schema.SQL_USER).toBe(server.POSTGRES_USER);
  expect(schema.SQL_PASSWORD).toBe(server.POSTGRES_PWD);
  expect(schema.DBNAME).toBe(server.DBNAME);
  expect(schema.VISIBILITY_DBNAME).toBe(server.VISIBILITY_DBNAME);
  // ... by running deploy/temporal/setup-schema.sh (its behaviour: scripts.test.ts), mounted from the repository.
  const script = argv(service('temporal-schema').entrypoint).at(-1)!;
  expect(hostPathOf(service('temporal-schema'), script)).toBe(path.join(ROOT, 'deploy/temporal/setup-schema.sh'));
  // The role the server and the schema job log in as is the one postgres-init creates, with the same password.
  expect(env('postgres-init').TEMPORAL_DB_PASSWORD).toBe(server.POSTGRES_PWD);
  expect(readFileSync(path.join(ROOT, 'deploy/postgres/init-roles.sh'), 'utf8')).toContain(`ALTER ROLE ${server.POSTGRES_USER} WITH LOGIN CREATEDB`);
});

test('the Temporal server reads deploy/temporal/dynamicconfig.yaml, mounted read-only from the repository', () => {
  const file = env('temporal').DYNAMIC_CONFIG_FILE_PATH!;
  expect(file).toMatch(/^\//);
  const onHost = hostPathOf(service('temporal'), file);
  expect(onHost).toBe(path.join(ROOT, 'deploy/temporal/dynamicconfig.yaml'));
  expect(existsSync(onHost!)).toBe(true);
  const mount = mounts(service('temporal')).find((m) => file.startsWith(`${m.target}/`) || file === m.target)!;
  expect(mount.readOnly).toBe(true);
});

test('the Ouija services are built from the repository Dockerfile, as one image', () => {
  const ouija = ['ouija-setup', 'ouija-api', 'ouija-worker'].map(service);
  for (const s of ouija) {
    expect(s.build?.context).toBe(ROOT);
    expect(s.build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
  }
  expect(new Set(ouija.map((s) => s.image)).size).toBe(1);
});

/** DATABASE_URL and TEMPORAL_ADDRESS of an Ouija service point at this file's Postgres and Temporal. */
function expectConnections(name: string): void {
  const e = env(name);
  const url = new URL(e.DATABASE_URL!);
  expect(url.protocol).toBe('postgres:');
  expect(service(url.hostname).image).toMatch(/^postgres:/);
  expect(decodeURIComponent(url.password)).toBe(dummies.OUIJA_DB_PASSWORD);
  expect(env('postgres-init').OUIJA_DB_PASSWORD).toBe(dummies.OUIJA_DB_PASSWORD);
  const [host, port] = e.TEMPORAL_ADDRESS!.split(':');
  expect(service(host!).image).toBe(`temporalio/server:${versions.server}`);
  expect(port).toBe(env('temporal').FRONTEND_GRPC_PORT ?? '7233');
}

test('ouija api listens on 0.0.0.0 with an API token, on Postgres and Temporal, and its health check probes its port', () => {
  const e = env('ouija-api');
  expect(argv(service('ouija-api').command)).toEqual(['api']);
  expect(e.HOST).toBe('0.0.0.0');
  expect(e.OUIJA_API_TOKEN).toBe(dummies.OUIJA_API_TOKEN);
  expect(e.PORT).toMatch(/^\d+$/);
  expectConnections('ouija-api');
  expect(ports(service('ouija-api')).map((p) => p.target)).toEqual([e.PORT]);
  expect(new URL(healthcheckArgv('ouija-api').at(-1)!).port).toBe(e.PORT);
});

test('ouija worker serves every queue, has its WORKER_PORT and keeps its data in a named volume at the data dir', () => {
  const e = env('ouija-worker');
  const command = argv(service('ouija-worker').command);
  expect(command[0]).toBe('worker');
  expect(command).not.toContain('-q'); // no queue list: all of them
  expect(command).not.toContain('--queue');
  expect(e.WORKER_PORT).toMatch(/^\d+$/);
  expect(new URL(healthcheckArgv('ouija-worker').at(-1)!).port).toBe(e.WORKER_PORT);
  expectConnections('ouija-worker');
  const dataDir = e.OUIJA_DATA_DIR ?? imageEnv.OUIJA_DATA_DIR;
  expect(dataDir).toMatch(/^\//);
  const data = mounts(service('ouija-worker')).find((m) => m.target === dataDir);
  expect(data).toEqual(expect.objectContaining({ named: true, readOnly: false }));
  expect(Object.keys(config.volumes ?? {})).toContain(data!.source);
});

test('the scripts and health checks the Ouija services run are files the Dockerfile copies into the image', () => {
  const scripts = [argv(service('ouija-setup').entrypoint).at(-1)!, ...['ouija-api', 'ouija-worker'].map((n) => healthcheckArgv(n).find((a) => a.endsWith('.js'))!)];
  for (const inImage of scripts) expect([inImage, fileExists(repoPathOfImagePath(finalStage, inImage))]).toEqual([inImage, true]);
  // postgres-init's script comes from the repository through its bind mount.
  const init = argv(service('postgres-init').entrypoint).at(-1)!;
  expect(hostPathOf(service('postgres-init'), init)).toBe(path.join(ROOT, 'deploy/postgres/init-roles.sh'));
});

test('secrets come only from the environment: the dummies given, or passed through when set, never empty', () => {
  const given = new Set(Object.values(dummies));
  for (const [name, s] of Object.entries(config.services)) {
    for (const [key, value] of Object.entries(s.environment ?? {})) {
      expect([name, key, value]).not.toEqual([name, key, '']); // an empty secret can be worse than none
      if (SECRET_NAME.test(key) && value !== null) expect([name, key, given.has(value)]).toEqual([name, key, true]);
      if (key === 'DATABASE_URL' && value !== null) expect([name, key, given.has(decodeURIComponent(new URL(value).password))]).toEqual([name, key, true]);
    }
  }
  // As written: a secret's value is a bare interpolation, or nothing at all (pass-through).
  const interpolation = /^\$\{[A-Z][A-Z0-9_]*(:\?[^}]+)?\}$/;
  for (const [name, s] of Object.entries(rawCompose().doc.services)) {
    for (const [key, value] of Object.entries(s.environment ?? {})) {
      if (SECRET_NAME.test(key) && value !== null) expect([name, key, interpolation.test(String(value))]).toEqual([name, key, true]);
      if (key === 'DATABASE_URL') expect([name, String(value)]).toEqual([name, expect.stringMatching(/^postgres:\/\/[a-z_]+:\$\{[A-Z_]+:\?[^}]+\}@/)]);
    }
  }
});

test('the required secrets are exactly the ones the file interpolates with ${VAR:?message}', () => {
  const required = new Set([...rawCompose().text.matchAll(/\$\{([A-Z][A-Z0-9_]*):\?/g)].map((m) => m[1]));
  expect([...required].sort()).toEqual([...REQUIRED_SECRETS].sort());
});

test.each(REQUIRED_SECRETS)('without %s, docker-compose config fails with the file’s message', async (missing) => {
  const { [missing]: _unset, ...rest } = dummies;
  const result = await composeConfig(rest);
  expect(result.code).not.toBe(0);
  const message = new RegExp(`\\$\\{${missing}:\\?([^}]+)\\}`).exec(rawCompose().text)![1]!;
  expect(result.stderr).toContain(message);
  expect(result.stderr).toContain(missing);
});

test('start order: schema → server → setup → api and worker, each waiting for the right condition', () => {
  const deps = Object.fromEntries(Object.keys(config.services).map((name) => [name, dependsOn(service(name))]));
  expect(deps['postgres-init']).toEqual({ postgres: 'service_healthy' });
  expect(deps['temporal-schema']).toEqual({ 'postgres-init': 'service_completed_successfully' });
  expect(deps.temporal).toEqual({ 'temporal-schema': 'service_completed_successfully' });
  expect(deps['temporal-ui']).toEqual({ temporal: 'service_healthy' });
  expect(deps['ouija-setup']).toEqual({ temporal: 'service_healthy' });
  expect(deps['ouija-api']).toEqual({ 'ouija-setup': 'service_completed_successfully' });
  expect(deps['ouija-worker']).toEqual({ 'ouija-setup': 'service_completed_successfully' });

  for (const [name, d] of Object.entries(deps)) {
    for (const [target, condition] of Object.entries(d)) {
      // Waiting for health needs a health check; waiting for completion needs a service that ends and stays ended.
      if (condition === 'service_healthy') expect([name, target, healthcheckArgv(target).length > 0]).toEqual([name, target, true]);
      if (condition === 'service_completed_successfully') expect([target, ONE_SHOTS.includes(target)]).toEqual([target, true]);
    }
  }
  for (const name of ONE_SHOTS) expect([name, service(name).restart ?? 'no']).toEqual([name, 'no']);

  // A start order exists (no cycle), and in it every step comes after the ones it needs.
  const order: string[] = [];
  const visit = (name: string, path: string[] = []) => {
    if (path.includes(name)) throw new Error(`depends_on cycle: ${[...path, name].join(' → ')}`);
    if (order.includes(name)) return;
    for (const dep of Object.keys(deps[name] ?? {})) visit(dep, [...path, name]);
    order.push(name);
  };
  for (const name of Object.keys(deps)) visit(name);
  const before = (a: string, b: string) => expect([a, b, order.indexOf(a) < order.indexOf(b)]).toEqual([a, b, true]);
  before('temporal-schema', 'temporal');
  before('temporal', 'ouija-setup');
  before('ouija-setup', 'ouija-api');
  before('ouija-setup', 'ouija-worker');
});

test('everything is published on loopback unless told otherwise; OUIJA_INTERNAL_BIND opens Temporal and Postgres to agent hosts', async () => {
  for (const [name, s] of Object.entries(config.services)) {
    for (const p of ports(s)) expect([name, p.hostIp]).toEqual([name, '127.0.0.1']);
  }
  const result = await composeConfig({ ...dummies, OUIJA_INTERNAL_BIND: '10.1.2.3' });
  expect(result.code).toBe(0);
  const opened = parseConfig(result.stdout);
  const hostIps = (name: string) => ports(opened.services[name]!).map((p) => p.hostIp);
  expect(hostIps('temporal')).toEqual(['10.1.2.3']);
  expect(hostIps('postgres')).toEqual(['10.1.2.3']);
  expect(hostIps('ouija-api')).toEqual(['127.0.0.1']);
  expect(hostIps('temporal-ui')).toEqual(['127.0.0.1']);
});
