/**
 * For the end-to-end tests of a REAL agent CLI (test/integration/agent/<cli>.test.ts): a whole Ouija (the
 * harness) whose agent profile runs the CLI against a fake provider (test/support/fake-providers/), and the
 * steps those tests share: put a card to work, wait for its review, read what the CLI wrote from the pushed
 * branch, run a revision round, fail a card on a provider that answers 500.
 */
import path from 'node:path';
import type { DeepPartial, OuijaConfig } from '../../src/config';
import { listAgentRuns, type AgentRun } from '../../src/db';
import { commitsAhead, git } from '../../src/cli/local-repo';
import type { CardState } from '../../src/core/types';
import { startHarness, type Harness } from './ouija-harness';

type Card = Awaited<ReturnType<Harness['newCard']>>;

/** The pinned devDependency's binary, e.g. `claude`. */
export function cliBinary(name: string): string {
  return path.resolve(__dirname, '../../node_modules/.bin', name);
}

/**
 * Starts `startFake`, then a harness whose agent profile is `agent(fake)` (a long silence timeout, since a real
 * CLI is slower to speak than the demo agent, and two attempts unless it says otherwise). The fake is closed
 * again when the harness fails to start.
 */
export async function startCliHarness<Fake extends { close(): Promise<void> }>(
  startFake: () => Promise<Fake>,
  agent: (fake: Fake) => DeepPartial<OuijaConfig['agent']>,
): Promise<{ fake: Fake; h: Harness }> {
  const fake = await startFake();
  try {
    const h = await startHarness({ agent: { silenceTimeoutMs: 60_000, maxAttempts: 2, ...agent(fake) } });
    return { fake, h };
  } catch (error) {
    await fake.close();
    throw error;
  }
}

/** For afterAll: either may be unset when beforeAll failed. */
export async function stopCliHarness({ fake, h }: { fake?: { close(): Promise<void> }; h?: Harness }): Promise<void> {
  await h?.stop();
  await fake?.close();
}

/** Moves a card to In progress; the move must dispatch its first step. */
export async function moveToWork(h: Harness, card: Card): Promise<void> {
  const moved = await h.api('POST', `/api/cards/${card.cardId}/move`, { column: 'in-progress', expectedVersion: card.version });
  expect(moved.body.dispatch.status).toBe('accepted');
}

/**
 * Moves a card to In progress and waits until it is in review. Failed counts as settled too: a broken run fails
 * the test at once instead of timing out.
 */
export async function workToReview(h: Harness, card: Card): Promise<CardState> {
  await moveToWork(h, card);
  const review = await h.waitFor(card.cardKey, (s) => s.phase === 'review' || s.phase === 'failed', 'review');
  expect(review.phase).toBe('review');
  return review;
}

/**
 * The content of `file` (an absolute path the CLI wrote in the card's worktree) on the remote branch, after
 * checking that the branch there is the commit the review shows.
 */
export async function pushedFile(h: Harness, review: CardState, file: string): Promise<string> {
  const { branch, path: worktree } = review.workspace!;
  expect(await git(h.remote, 'rev-parse', `refs/heads/${branch}`)).toBe(review.review!.headSha);
  return git(h.remote, 'show', `refs/heads/${branch}:${path.relative(worktree, file)}`);
}

/** What the reviewer's comment in `reviseOnce` carries, to look for in the CLI's prompt. */
export const REVISION_CANARY = 'canary-7f3a';

/**
 * Requests changes on a card in review and waits for its second review: on the same branch, with new commits,
 * both runs succeeded. The test then checks that the comment reached the CLI (`expectRevisionPrompt`).
 */
export async function reviseOnce(h: Harness, card: Card, review: CardState): Promise<void> {
  const { branch } = review.workspace!;
  const before = await commitsAhead(h.remote, branch);
  const asked = await h.api('POST', `/api/cards/${card.cardId}/request-changes`, { comments: [{ author: 'bob', body: `Please also mention the weather (${REVISION_CANARY})` }] });
  expect(asked.body.dispatch.status).toBe('accepted');
  const second = await h.waitFor(card.cardKey, (s) => s.phase === 'review' && s.round === 1, 'second review');
  expect(second.workspace!.branch).toBe(branch);
  expect(await commitsAhead(h.remote, branch)).toBeGreaterThan(before);
  const runs = await listAgentRuns(h.database.db, { cardKey: card.cardKey });
  expect(runs.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
}

/** The user text of the revision round's first model call: the reviewer's comment, as revision round 1. */
export function expectRevisionPrompt(userText: string): void {
  expect(userText).toContain(REVISION_CANARY);
  expect(userText).toContain('revision round 1');
}

/** The title `failOnProvider` gives its card, to pick out that card's model calls. */
export const DOOMED_CANARY = 'canary-500';

/**
 * With the fake answering 500: a new card's step fails and is retried per policy, then the card fails. Both
 * attempts (maxAttempts 2) were real CLI runs that exited 1. Returns those runs.
 */
export async function failOnProvider(h: Harness): Promise<AgentRun[]> {
  const c = await h.newCard(`Doomed by the provider (${DOOMED_CANARY})`, '');
  await moveToWork(h, c);
  const final: CardState = await h.ouija.temporal.workflow.getHandle(c.workflowId).result();
  expect(final.phase).toBe('failed');
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => [r.attempt, r.outcome, r.exitCode])).toEqual([
    [1, 'failed', 1],
    [2, 'failed', 1],
  ]);
  return runs;
}
