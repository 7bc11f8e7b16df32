/**
 * The Dockerfile, parsed by dockerfile-ast (the parser of the Dockerfile language server): pinned bases, a
 * non-root runtime, the system tools and agent CLIs Ouija needs at package.json's versions, and a build context
 * (.dockerignore) that lets in what is copied and nothing secret. Building it needs a Docker engine, which the
 * test machines do not have.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Instruction } from 'dockerfile-ast';
import { copyFrom, DOCKERFILE, fileExists, parseDockerfile, repoPathOfImagePath, ROOT, runWords, stages } from './helpers';

const dockerfile = parseDockerfile();
const all = stages(dockerfile);
const final = all.at(-1)!;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
/** The agent CLIs Ouija has adapters for that come from npm (Aider is a PyPI package). */
const AGENT_CLIS = ['@anthropic-ai/claude-code', '@openai/codex', '@google/gemini-cli'];

const keyword = (stage: { instructions: Instruction[] }, k: string) => stage.instructions.filter((i) => i.getKeyword() === k);
/** The shell commands of a stage's RUNs, split at && (each as its words). */
const commands = (stage: { instructions: Instruction[] }) =>
  keyword(stage, 'RUN').flatMap((run) => {
    const out: string[][] = [[]];
    for (const word of runWords(run)) {
      if (word === '&&' || word === ';') out.push([]);
      else out.at(-1)!.push(word);
    }
    return out.filter((c) => c.length > 0);
  });
const jsonArgs = (instruction: Instruction) => JSON.parse(instruction.getArgumentsContent() ?? '[]') as string[];

test('every stage starts from the same pinned Node 24 image (full version, a Debian release, no `latest`)', () => {
  expect(all.length).toBeGreaterThanOrEqual(2); // multi-stage
  for (const stage of all) {
    expect(stage.image).toMatch(/^node:(\d+)\.\d+\.\d+-[a-z]+(-slim)?$/);
    expect(stage.image).not.toMatch(/latest|\$/);
  }
  expect(new Set(all.map((s) => s.image)).size).toBe(1);
  expect(Number(/^node:(\d+)\./.exec(final.image)![1])).toBe(24);
});

test('the build stage compiles with npm ci and npm run build; the runtime gets the production dependencies only', () => {
  const build = all.find((s) => commands(s).some((c) => c.join(' ') === 'npm run build'))!;
  expect(build).toBeDefined();
  expect(commands(build).some((c) => c[0] === 'npm' && c[1] === 'ci' && !c.includes('--omit=dev'))).toBe(true);
  const fromStage = (dest: string) => {
    const copy = keyword(final, 'COPY').find((i) => runWords(i).at(-1) === dest);
    return copy ? copyFrom(copy) : undefined;
  };
  // dist/ from the build; node_modules from a stage that installed with --omit=dev (not the build's, which has the dev tools).
  expect(fromStage('./dist')).toBe(build.name);
  const deps = all.find((s) => s.name === fromStage('./node_modules'))!;
  expect(deps).toBeDefined();
  expect(commands(deps).some((c) => c[0] === 'npm' && c[1] === 'ci' && c.includes('--omit=dev'))).toBe(true);
});

test('the runtime stage runs as a user that is not root, created there', () => {
  const users = keyword(final, 'USER');
  expect(users.length).toBeGreaterThan(0);
  const [user, group] = runWords(users.at(-1)!)[0]!.split(':');
  expect(['root', '0']).not.toContain(user);
  if (group) expect(['root', '0']).not.toContain(group);
  // The last USER comes after every RUN, so nothing after it goes back to root.
  const index = (i: Instruction) => final.instructions.indexOf(i);
  expect(Math.max(...keyword(final, 'RUN').map(index))).toBeLessThan(index(users.at(-1)!));
  expect(commands(final).some((c) => c[0] === 'useradd' && c.at(-1) === user)).toBe(true);
});

test('the runtime has git, bubblewrap, setpriv (util-linux) and CA certificates', () => {
  const apt = commands(final).filter((c) => c[0] === 'apt-get' && c.includes('install'));
  const installed = apt.flatMap((c) => c.slice(c.indexOf('install') + 1).filter((w) => !w.startsWith('-')));
  expect(installed).toEqual(expect.arrayContaining(['git', 'bubblewrap', 'util-linux', 'ca-certificates']));
});

test('the agent CLIs are installed globally at exactly the versions package.json pins', () => {
  const global = commands(final).filter((c) => c[0] === 'npm' && c[1] === 'install' && c.includes('-g'));
  expect(global).toHaveLength(1);
  const specs = global[0]!.filter((w) => !w.startsWith('-') && w !== 'npm' && w !== 'install');
  const pinned = Object.fromEntries(specs.map((s) => [s.slice(0, s.lastIndexOf('@')), s.slice(s.lastIndexOf('@') + 1)]));
  expect(Object.keys(pinned).sort()).toEqual([...AGENT_CLIS].sort());
  for (const name of AGENT_CLIS) {
    expect(pkg.devDependencies[name]).toMatch(/^\d+\.\d+\.\d+$/); // an exact pin, so "equal" means one version
    expect([name, pinned[name]]).toEqual([name, pkg.devDependencies[name]]);
  }
});

test('ENTRYPOINT runs bin/ouija.js with node; HEALTHCHECK runs a script the image has', () => {
  const entrypoints = dockerfile.getENTRYPOINTs();
  expect(entrypoints).toHaveLength(1);
  const entry = jsonArgs(entrypoints[0]!);
  const node = entry.indexOf('node');
  expect(node).toBeGreaterThanOrEqual(0);
  expect(entry[node + 1]).toMatch(/(^|\/)bin\/ouija\.js$/);
  const workdir = keyword(final, 'WORKDIR').reduce((dir, w) => path.posix.resolve(dir, runWords(w)[0]!), '/');
  expect(repoPathOfImagePath(final, path.posix.resolve(workdir, entry[node + 1]!))).toBe(path.join(ROOT, 'bin/ouija.js'));

  const healthchecks = dockerfile.getHEALTHCHECKs();
  expect(healthchecks).toHaveLength(1);
  const content = healthchecks[0]!.getArgumentsContent() ?? '';
  const probe = JSON.parse(content.slice(content.indexOf('['))) as string[];
  expect(probe[0]).toBe('node');
  expect(fileExists(repoPathOfImagePath(final, probe[1]!))).toBe(true);
});

test('nothing secret is built in', () => {
  const secret = /PASSWORD|PWD|TOKEN|SECRET|_KEY$|API_KEY/;
  for (const instruction of dockerfile.getInstructions()) {
    const k = instruction.getKeyword();
    if (k !== 'ENV' && k !== 'ARG') continue;
    for (const word of runWords(instruction)) expect([k, word, secret.test(word.split('=')[0]!)]).toEqual([k, word, false]);
  }
  const sources = all.flatMap((s) => keyword(s, 'COPY')).flatMap((i) => runWords(i).slice(0, -1));
  expect(sources.filter((s) => /(^|\/)\.env|\.npmrc|id_rsa/.test(s))).toEqual([]);
});

test('.dockerignore lets in every path the Dockerfile copies and keeps out .env, node_modules, dist and caches', () => {
  const lines = readFileSync(path.join(path.dirname(DOCKERFILE), '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  expect(lines[0]).toBe('*'); // an allow-list: everything out, then what is needed back in
  const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  const isAllowed = (p: string) => allowed.some((a) => p === a || p.startsWith(`${a}/`));
  const fromContext = all.flatMap((s) => keyword(s, 'COPY')).filter((i) => copyFrom(i) === null);
  for (const source of fromContext.flatMap((i) => runWords(i).slice(0, -1))) {
    expect([source, isAllowed(source), fileExists(path.join(ROOT, source))]).toEqual([source, true, true]);
  }
  for (const kept of ['.env', 'node_modules', 'dist', '.cache', '.ouija', '.git', 'test']) expect([kept, isAllowed(kept)]).toEqual([kept, false]);
});
