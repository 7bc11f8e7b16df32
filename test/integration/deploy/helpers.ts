/**
 * Shared by the deploy tests: the real `docker-compose` (found, or installed from PyPI by
 * scripts/install-docker-compose.sh), the compose file resolved by `docker-compose config`, and the Dockerfile
 * parsed by dockerfile-ast.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Copy, DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { findOnPath, isExecutable } from '../../../src/executables';

const run = promisify(execFile);

export const ROOT = path.resolve(__dirname, '../../..');
export const COMPOSE_FILE = path.join(ROOT, 'docker-compose.temporal.yml');
export const DOCKERFILE = path.join(ROOT, 'Dockerfile');

const HOW_TO_GET_IT =
  'Install it (Debian: apt-get install docker-compose; it needs no Docker engine for `config`), or run ' +
  '`bash scripts/install-docker-compose.sh` (PyPI, needs python3-venv), or set OUIJA_DOCKER_COMPOSE to a ' +
  'docker-compose binary.';

let found: Promise<string> | null = null;

/** OUIJA_DOCKER_COMPOSE, else `docker-compose` on PATH, else the project's cache, installed there if missing. */
export function dockerCompose(): Promise<string> {
  found ??= locate();
  return found;
}

async function locate(): Promise<string> {
  const fromEnv = process.env.OUIJA_DOCKER_COMPOSE;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`OUIJA_DOCKER_COMPOSE=${fromEnv} is not an executable file. ${HOW_TO_GET_IT}`);
    return fromEnv;
  }
  const onPath = findOnPath('docker-compose');
  if (onPath) return onPath;
  const cached = path.join(ROOT, '.cache', 'docker-compose', 'venv', 'bin', 'docker-compose');
  if (isExecutable(cached)) return cached;
  try {
    const { stdout } = await run('bash', [path.join(ROOT, 'scripts', 'install-docker-compose.sh')], { timeout: 10 * 60_000 });
    const bin = stdout.trim().split('\n').pop() ?? '';
    if (!isExecutable(bin)) throw new Error(`the install script printed no executable path (${JSON.stringify(bin)})`);
    return bin;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`docker-compose is needed to validate docker-compose.temporal.yml and is not installed; installing it from PyPI failed: ${stderr || (err as Error).message}\n${HOW_TO_GET_IT}`, { cause: err });
  }
}

export interface ComposeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `docker-compose -f docker-compose.temporal.yml config` with exactly `env` (plus PATH and HOME): nothing from
 * this process's environment, and an empty --env-file, so a developer's own .env or secrets cannot leak in.
 */
export async function composeConfig(env: Record<string, string>, file: string = COMPOSE_FILE): Promise<ComposeRun> {
  const bin = await dockerCompose();
  const envFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'ouija-compose-')), 'empty.env');
  writeFileSync(envFile, '');
  try {
    const { stdout, stderr } = await run(bin, ['-f', file, '--project-directory', path.dirname(file), '--env-file', envFile, 'config'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err; // not an exit status: the binary did not run
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A service as `docker-compose config` prints it (only the parts the tests read). */
export interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string };
  ports?: Array<string | { host_ip?: string; published?: string | number; target: number }>;
  volumes?: Array<string | { type: string; source?: string; target: string; read_only?: boolean }>;
  restart?: string;
}

export interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

export function parseConfig(stdout: string): ComposeConfig {
  return parseYaml(stdout) as ComposeConfig;
}

/** The compose file as written (before interpolation). */
export function rawCompose(): { text: string; doc: { services: Record<string, { environment?: Record<string, string | null> }> } } {
  const text = readFileSync(COMPOSE_FILE, 'utf8');
  return { text, doc: parseYaml(text, { merge: true }) };
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  /** A named volume rather than a host path. */
  named: boolean;
}

/** Short (`src:dst:ro`) and long (`{type, source, target}`) volume syntax, as docker-compose v1 and v2 print them. */
export function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target, readOnly: v.read_only === true, named: v.type === 'volume' };
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro'), named: !source.startsWith('/') && !source.startsWith('.') };
  });
}

/** The host file behind `containerPath` in `service`, through its bind mounts (the longest matching target). */
export function hostPathOf(service: Service, containerPath: string): string | null {
  const mount = mounts(service)
    .filter((m) => !m.named && (containerPath === m.target || containerPath.startsWith(`${m.target}/`)))
    .sort((a, b) => b.target.length - a.target.length)[0];
  return mount ? path.join(mount.source, path.relative(mount.target, containerPath)) : null;
}

export interface PortMapping {
  hostIp: string;
  published: string;
  target: string;
}

export function ports(service: Service): PortMapping[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== 'string') return { hostIp: p.host_ip ?? '0.0.0.0', published: String(p.published ?? ''), target: String(p.target) };
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
    const target = parts.pop() ?? '';
    const published = parts.pop() ?? '';
    return { hostIp: parts.pop() ?? '0.0.0.0', published, target };
  });
}

export function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition]));
}

export function argv(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : value.split(/\s+/).filter(Boolean);
}

// --- the Dockerfile ---------------------------------------------------------------------------------------

export function parseDockerfile(file: string = DOCKERFILE): Dockerfile {
  return DockerfileParser.parse(readFileSync(file, 'utf8'));
}

export interface Stage {
  name: string | null;
  /** The FROM image with the ARGs declared before the first FROM substituted (their defaults). */
  image: string;
  instructions: Instruction[];
}

export function stages(dockerfile: Dockerfile): Stage[] {
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) args.set(property.getName(), property.getValue() ?? '');
  }
  const substitute = (text: string) =>
    text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (match, name: string) => args.get(name) ?? match);
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line)!;
      result.push({ name: from.getBuildStage(), image: substitute(from.getImage() ?? ''), instructions: [] });
    } else if (result.length > 0) {
      result.at(-1)!.instructions.push(instruction);
    }
  }
  return result;
}

/** The stage a COPY takes its files from (`--from=`), or null for the build context. */
export function copyFrom(instruction: Instruction): string | null {
  return instruction instanceof Copy ? (instruction.getFromFlag()?.getValue() ?? null) : null;
}

/** RUN's words (a shell command line split on whitespace; line continuations already joined by the parser). */
export function runWords(instruction: Instruction): string[] {
  return instruction.getArguments().map((a) => a.getValue());
}

/** Where a path inside the image came from in the repository, through the stage's plain COPYs; null if none. */
export function repoPathOfImagePath(stage: Stage, imagePath: string): string | null {
  let workdir = '/';
  for (const instruction of stage.instructions) {
    const keyword = instruction.getKeyword();
    const words = runWords(instruction);
    if (keyword === 'WORKDIR') workdir = path.posix.resolve(workdir, words[0] ?? '');
    if (keyword !== 'COPY' || copyFrom(instruction) !== null) continue;
    const plain = words.filter((w) => !w.startsWith('--'));
    const dest = path.posix.resolve(workdir, plain.at(-1) ?? '');
    for (const source of plain.slice(0, -1)) {
      const inImage = plain.length === 2 && !(plain.at(-1) ?? '').endsWith('/') ? dest : path.posix.join(dest, path.posix.basename(source));
      if (imagePath === inImage) return path.join(ROOT, source);
      if (imagePath.startsWith(`${inImage}/`)) return path.join(ROOT, source, path.posix.relative(inImage, imagePath));
    }
  }
  return null;
}

export function fileExists(file: string | null): boolean {
  return file !== null && existsSync(file);
}
