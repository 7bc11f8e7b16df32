/** The demo agent through runAgent: real process, real git, the protocol end to end. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentExitError, demoAgentAdapter, runAgent, type AgentEvent, type AgentTask } from '../../../src/plugins/agent';
import { git, makeSandbox, makeTask, type Sandbox } from './helpers';

let sandbox: Sandbox;
beforeEach(() => {
  sandbox = makeSandbox();
});
afterEach(() => sandbox.remove());

async function run(task: AgentTask, extra: { passEnv?: string[]; env?: Record<string, string> } = {}) {
  const events: AgentEvent[] = [];
  const outcome = await runAgent({
    adapter: demoAgentAdapter(),
    task,
    runDir: sandbox.runDir,
    pidFile: sandbox.pidFile,
    signal: new AbortController().signal,
    silenceTimeoutMs: 5000,
    // As every agent runs by default: in the bubblewrap sandbox.
    sandbox: { mode: 'bwrap', hidden: [] },
    onEvent: (event) => events.push(event),
    ...extra,
  });
  return { outcome, events };
}

const commitCount = (): number => Number(git(sandbox.worktree, ['rev-list', '--count', 'HEAD']));

test('edits the worktree, commits as the demo identity, and reports progress and a result', async () => {
  const { outcome, events } = await run(makeTask(sandbox));

  const notes = readFileSync(join(sandbox.worktree, 'ouija-notes', '42.md'), 'utf8');
  expect(notes).toContain('# Add a greeting');
  expect(notes).toContain('Please add a greeting.');
  expect(notes).toContain('step `implement`');
  expect(commitCount()).toBe(2);
  expect(git(sandbox.worktree, ['log', '-1', '--format=%an <%ae>|%cn|%s'])).toBe(
    'Ouija demo agent <demo-agent@ouija.invalid>|Ouija demo agent|ouija demo: implement notes for builtin:demo:42 (round 0)',
  );
  // The task file and the agent's HOME live in the run directory, so the worktree is clean.
  expect(git(sandbox.worktree, ['status', '--porcelain'])).toBe('');
  expect(existsSync(join(sandbox.runDir, 'task.json'))).toBe(true);
  expect(existsSync(sandbox.pidFile)).toBe(false);

  expect(events.filter((e) => e.type === 'progress').length).toBeGreaterThanOrEqual(3);
  expect(events.at(-1)).toMatchObject({ type: 'result', summary: expect.stringMatching(/^wrote ouija-notes\/42\.md and committed [0-9a-f]+$/) });
  expect(outcome).toMatchObject({ exitCode: 0, events: events.length, costUsd: 0 });
  expect(outcome.summary).toMatch(/committed/);
  expect(outcome.tokens?.input).toBeGreaterThan(0);
});

test('a revision writes the review feedback and commits again; a retry of the same round commits nothing', async () => {
  await run(makeTask(sandbox));
  const revision = makeTask(sandbox, {
    round: 1,
    feedback: [{ author: 'reviewer', body: 'Say hello in French too.', path: 'README.md', line: 3 }],
  });
  await run(revision);
  expect(commitCount()).toBe(3);
  const notes = readFileSync(join(sandbox.worktree, 'ouija-notes', '42.md'), 'utf8');
  expect(notes).toContain('review round 1');
  expect(notes).toContain('- reviewer (README.md:3): Say hello in French too.');

  const { outcome } = await run(revision);
  expect(commitCount()).toBe(3);
  expect(outcome.summary).toMatch(/already up to date/);
});

test('no-change leaves the repository alone', async () => {
  const { outcome } = await run(makeTask(sandbox, { body: 'ouija-demo: no-change' }));
  expect(commitCount()).toBe(1);
  expect(existsSync(join(sandbox.worktree, 'ouija-notes'))).toBe(false);
  expect(outcome.summary).toBe('no change, as the card asked');
});

test('exit=3 fails with AgentExitError carrying the code and the stderr tail', async () => {
  const events: AgentEvent[] = [];
  const failure = runAgent({
    adapter: demoAgentAdapter(),
    task: makeTask(sandbox, { body: 'Fail, please.\nouija-demo: exit=3' }),
    runDir: sandbox.runDir,
    pidFile: sandbox.pidFile,
    signal: new AbortController().signal,
    silenceTimeoutMs: 5000,
    sandbox: { mode: 'bwrap', hidden: [] },
    onEvent: (event) => events.push(event),
  });
  await expect(failure).rejects.toBeInstanceOf(AgentExitError);
  const error = (await failure.catch((e: unknown) => e)) as AgentExitError;
  expect(error.exitCode).toBe(3);
  expect(error.stderrTail).toContain('exiting with code 3');
  expect(events.some((e) => e.type === 'progress')).toBe(true);
  expect(commitCount()).toBe(1);
});

test('the agent sees only allow-listed variables, never the server secrets', async () => {
  const planted = {
    GITHUB_TOKEN: 'ghp_fake',
    OUIJA_GITHUB_WEBHOOK_SECRET: 'fake-secret',
    DATABASE_URL: 'postgres://fake',
    SOME_OTHER_SETTING: 'x',
    AGENT_API_KEY: 'k',
  };
  Object.assign(process.env, planted);
  try {
    const { events } = await run(makeTask(sandbox, { body: 'ouija-demo: print-env no-change' }), {
      passEnv: ['AGENT_API_KEY', 'NOT_SET_ANYWHERE'],
      env: { AGENT_MODEL: 'small' },
    });
    const line = events.find((e) => e.type === 'progress' && e.message.startsWith('env: '));
    expect(line).toBeDefined();
    const names = (line as { message: string }).message.slice('env: '.length).split(' ');
    // PWD: set by bubblewrap to the worktree it starts the agent in.
    const allowed = ['PATH', 'LANG', 'LC_ALL', 'TERM', 'HOME', 'TMPDIR', 'PWD', 'OUIJA_TASK_FILE', 'OUIJA_RUN_DIR', 'AGENT_API_KEY', 'AGENT_MODEL'];
    expect(names.filter((name) => !allowed.includes(name))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['TERM', 'HOME', 'TMPDIR', 'OUIJA_TASK_FILE', 'OUIJA_RUN_DIR', 'AGENT_API_KEY', 'AGENT_MODEL']));
    for (const secret of ['GITHUB_TOKEN', 'OUIJA_GITHUB_WEBHOOK_SECRET', 'DATABASE_URL', 'SOME_OTHER_SETTING']) {
      expect(names).not.toContain(secret);
    }
  } finally {
    for (const name of Object.keys(planted)) delete process.env[name];
  }
});
