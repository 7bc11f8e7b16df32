/**
 * `ouija demo [--json]`: the whole loop on a throwaway local repository and the built-in board, driven
 * through Ouija's own HTTP API — board and card created, card moved to the working column, the demo agent
 * (src/plugins/agent/demo/demo-agent.js, a real process) commits in the card's worktree, the branch is pushed
 * to the bare remote, the card reaches Review, the demo approves, the card reaches Done.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { workflowIdForCard } from '../core/cards';
import type { CardState } from '../core/types';
import { loadConfig } from '../config';
import { sandboxStatus } from '../plugins/agent';
import { log } from '../log';
import { stateQuery } from '../../workflows/messages';
import { startOuija, type RunningOuija } from '../../workers/all-in-one';
import { commitsAhead, createBareRemote } from './local-repo';
import { onShutdownSignal, temporalFor, workflowUiLink } from './services';

export interface DemoOptions {
  json?: boolean;
  keep?: boolean;
}

export async function demoCommand(options: DemoOptions): Promise<void> {
  const say = (line: string) => (options.json ? undefined : process.stdout.write(`${line}\n`));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ouija-demo-'));
  const remote = await createBareRemote(workDir);
  const loaded = loadConfig({
    overrides: {
      dataDir: path.join(workDir, 'data'),
      port: 0,
      repos: { allow: [remote] },
      agent: { heartbeatTimeoutMs: 10_000, silenceTimeoutMs: 30_000, maxAttempts: 2 },
    },
  });
  say(`demo: throwaway repository ${remote}`);
  // The demo's own agent (Ouija's demo program, on a repository and a card the demo made) may run without the
  // sandbox where bwrap cannot: said here, and only for it. Any other agent profile is refused as usual.
  const sandbox = await sandboxStatus(process.env.PATH);
  const demoAgent = (loaded.agent.adapter ?? (loaded.agent.command ? 'command' : 'demo')) === 'demo' && loaded.agent.sandbox === undefined;
  const config = !sandbox.usable && demoAgent ? { ...loaded, agent: { ...loaded.agent, sandbox: 'none' as const } } : loaded;
  if (config !== loaded) say(`demo: the demo agent runs UNSANDBOXED here (${sandbox.usable ? '' : sandbox.reason})`);
  const temporal = await temporalFor(config, log, { persist: false });
  let ouija: RunningOuija | null = null;
  const stop = async () => {
    await ouija?.stop();
    await temporal.stop();
    if (!options.keep) fs.rmSync(workDir, { recursive: true, force: true });
  };
  onShutdownSignal(log, stop);
  try {
    ouija = await startOuija({ config, temporalAddress: temporal.address, http: true, log });
    const api = apiClient(ouija.url!);
    const board = await api('POST', '/api/boards', { name: 'Demo board', repo: remote });
    const card = await api('POST', `/api/boards/${board.id}/cards`, {
      title: 'Add a greeting to the project',
      body: 'The demo agent writes a note about this card and commits it.',
    });
    say(`demo: board ${board.id}, card ${card.id} created in backlog`);
    await api('POST', `/api/cards/${card.id}/move`, { column: 'in-progress', expectedVersion: card.version });
    const cardKey = `builtin:${board.id}:${card.id}`;
    const workflowId = workflowIdForCard(cardKey);
    say(`demo: card moved to in-progress → workflow ${workflowId}`);
    const handle = ouija.temporal.workflow.getHandle(workflowId);
    await waitForPhase(() => handle.query(stateQuery), ['review'], say);
    say('demo: card is in review; approving');
    await api('POST', `/api/cards/${card.id}/approve`, { by: 'demo' });
    const final: CardState = await handle.result();
    const description = await handle.describe();
    const branch = final.workspace?.branch ?? null;
    const result = {
      cardKey,
      phase: final.phase,
      workflowId,
      runId: description.runId,
      branch,
      remote,
      commits: branch ? await commitsAhead(remote, branch) : 0,
      review: final.review,
      column: (await api('GET', `/api/cards/${card.id}`)).columnKey,
      webUi: workflowUiLink(temporal.uiUrl, config.temporal.namespace, workflowId),
    };
    if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else say(`demo: done.\n${JSON.stringify(result, null, 2)}`);
    if (options.keep) {
      say('demo: --keep: Ouija stays up (Ctrl-C stops it).');
      await new Promise(() => undefined);
    }
  } finally {
    if (!options.keep) await stop();
  }
}

async function waitForPhase(query: () => Promise<CardState>, phases: string[], say: (l: string) => void, timeoutMs = 180_000): Promise<CardState> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const state = await query().catch(() => null);
    if (state && state.phase !== last) {
      last = state.phase;
      say(`demo:   phase ${state.phase}`);
    }
    if (state && phases.includes(state.phase)) return state;
    if (state && (state.phase === 'failed' || state.phase === 'cancelled')) throw new Error(`card ended ${state.phase}: ${state.lastError ?? ''}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for phase ${phases.join('|')} (last: ${last || 'none'})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function apiClient(base: string) {
  return async (method: string, route: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${JSON.stringify(json)}`);
    return json;
  };
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the whole loop once on a throwaway repository and the built-in board')
    .option('--json', 'print one JSON object describing the card at the end')
    .option('--keep', 'keep Ouija and the throwaway repository after the demo (Ctrl-C stops)')
    .action((opts: DemoOptions) => demoCommand(opts));
}
