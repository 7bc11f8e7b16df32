/**
 * What the agent adapter tests (claude-code, codex, gemini, aider) share: a base profile, the task they build
 * command lines from, a scratch run context per test, the recorded streams of the real CLIs
 * (test/fixtures/agent-streams/<cli>/) read and parsed line by line, and the "parse never throws" property.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentProfile } from '../../../src/config';
import type { AgentAdapter, InvocationContext } from '../../../src/plugins/agent/adapter';
import type { AgentEvent } from '../../../src/plugins/agent/protocol';
import { agentTask } from '../../support/agent-task';

/** A profile for `adapter` with nothing chosen: no program, model, extra arguments or environment. */
export function baseProfile(adapter: AgentProfile['adapter'], overrides: Partial<AgentProfile> = {}): AgentProfile {
  return { adapter, args: [], passEnv: [], env: {}, silenceTimeoutMs: 60_000, ...overrides };
}

/** A revision round of a card whose title starts with dashes: the prompt must stay one argument. */
export const task = agentTask({
  cardKey: 'builtin:b1:7',
  title: '--help me add a greeting',
  round: 1,
  feedback: [{ author: 'bob', body: 'Mention the weather too.' }],
  branch: 'ouija/7-add-a-greeting',
});

/**
 * An invocation context in a fresh scratch directory for every test (removed after it). The same object is
 * returned throughout: beforeEach fills in its fields, so read them inside tests, not at definition time.
 */
export function scratchRunContext(prefix: string): Required<Pick<InvocationContext, 'taskFile' | 'runDir' | 'stateDir'>> {
  const ctx = { taskFile: '', runDir: '', stateDir: '' };
  let scratch = '';
  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    Object.assign(ctx, { taskFile: path.join(scratch, 'run/task.json'), runDir: path.join(scratch, 'run'), stateDir: path.join(scratch, 'state') });
  });
  afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));
  return ctx;
}

/** The recorded streams of one CLI: test/fixtures/agent-streams/<cli>/. */
export function agentStreams(cli: string) {
  const dir = path.join(__dirname, '../../fixtures/agent-streams', cli);
  /** The lines of a recording (its trailing newline dropped). */
  const lines = (name: string): string[] => fs.readFileSync(path.join(dir, name), 'utf8').trimEnd().split('\n');
  return {
    dir,
    lines,
    /** The events `adapter` makes of a recording, read line by line as run-agent feeds them. */
    parse: (adapter: AgentAdapter, name: string): AgentEvent[] => parseLinesWith(adapter, lines(name)),
    /**
     * A string field of a recording's first line: the session or thread the CLI announced, which changes
     * whenever the fixtures are re-recorded.
     */
    firstLineField: (name: string, field: string): string => (JSON.parse(lines(name)[0]!) as Record<string, string>)[field]!,
  };
}

/** The events `adapter` makes of `lines`, one after the other (one adapter: parsing may keep state across lines). */
export function parseLinesWith(adapter: AgentAdapter, lines: string[]): AgentEvent[] {
  return lines.flatMap((line) => adapter.parse(line));
}

/** Any JSON value, as one line. */
export const jsonLine = fc.jsonValue().map((value) => JSON.stringify(value));

/** The property every adapter keeps: `parse` never throws, for any string or any of the `shaped` lines. */
export function expectParseNeverThrows(adapter: AgentAdapter, ...shaped: Array<fc.Arbitrary<string>>): void {
  fc.assert(
    fc.property(fc.oneof(fc.string(), ...shaped), (line) => {
      expect(() => adapter.parse(line)).not.toThrow();
    }),
  );
}
