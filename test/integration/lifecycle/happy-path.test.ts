/**
 * Walking skeleton, tests 1 and 2: a card moved on the built-in board reaches Review through a real Temporal
 * workflow, a real git worktree and the demo agent (a real process); approval takes it to Done and cleans up;
 * requested changes make the agent run again with the comments, on the same branch and review request.
 */
import fs from 'node:fs';
import { isSafeBranchName } from '../../../src/core/cards';
import { listAgentRuns, listReviewRequests } from '../../../src/db';
import { commitsAhead, git } from '../../../src/cli/local-repo';
import type { CardState } from '../../../src/core/types';
import { startHarness, type Harness } from '../../support/ouija-harness';
import { eventually } from '../../support/eventually';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

async function cardColumn(cardId: string): Promise<string> {
  return (await h.api('GET', `/api/cards/${cardId}`)).body.columnKey;
}


test('happy path: moved → worktree + branch → agent commits → pushed → Review → approve → Done, worktree cleaned', async () => {
  const c = await h.newCard('Add a greeting', 'Say hello to the team.');
  const moved = await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  expect(moved.status).toBe(200);
  expect(moved.body.dispatch).toEqual({ status: 'accepted', workflowId: c.workflowId });

  const review = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'phase review');
  const ws = review.workspace!;
  expect(isSafeBranchName(ws.branch)).toBe(true);
  expect(fs.existsSync(ws.path)).toBe(true);
  expect(await commitsAhead(h.remote, ws.branch)).toBeGreaterThanOrEqual(1);
  expect(await git(h.remote, 'rev-parse', `refs/heads/${ws.branch}`)).toBe(review.review!.headSha);

  const requests = await listReviewRequests(h.database.db, { cardKey: c.cardKey });
  expect(requests).toHaveLength(1);
  expect(requests[0]!.branch).toBe(ws.branch);
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.map((r) => r.outcome)).toEqual(['succeeded']);
  expect(await eventually(() => cardColumn(c.cardId), (col) => col === 'review')).toBe('review');
  // The comment follows the move on the board queue: wait for it rather than race it.
  const commentKeys = async () => ((await h.api('GET', `/api/cards/${c.cardId}`)).body.comments as Array<{ commentKey: string }>).map((x) => x.commentKey);
  expect(await eventually(commentKeys, (keys) => keys.length > 0)).toEqual([expect.stringMatching(/^review\/r1-[0-9a-f]{8}\/0$/)]);

  const approved = await h.api('POST', `/api/cards/${c.cardId}/approve`, { by: 'alice' });
  expect(approved.body.dispatch.status).toBe('accepted');
  const final: CardState = await h.ouija.temporal.workflow.getHandle(c.workflowId).result();
  expect(final.phase).toBe('done');
  expect(final.inFlight).toBeNull();
  expect(fs.existsSync(ws.path)).toBe(false);
  expect(await cardColumn(c.cardId)).toBe('done');
});

test('changes requested: the agent runs again with the comments, pushes to the same branch, back to Review', async () => {
  const c = await h.newCard('Write a haiku', 'About durable workflows.');
  await h.api('POST', `/api/cards/${c.cardId}/move`, { column: 'in-progress', expectedVersion: c.version });
  const first = await h.waitFor(c.cardKey, (s) => s.phase === 'review', 'first review');
  const branch = first.workspace!.branch;
  const commitsBefore = await commitsAhead(h.remote, branch);

  const feedback = 'Please also mention the weather (canary-7f3a)';
  const asked = await h.api('POST', `/api/cards/${c.cardId}/request-changes`, { comments: [{ author: 'bob', body: feedback }] });
  expect(asked.body.dispatch.status).toBe('accepted');
  const second = await h.waitFor(c.cardKey, (s) => s.phase === 'review' && s.round === 1, 'second review');

  expect(second.workspace!.branch).toBe(branch);
  expect(second.review!.id).toBe(first.review!.id);
  expect(await commitsAhead(h.remote, branch)).toBeGreaterThan(commitsBefore);
  // The agent saw the reviewer's words: the demo agent writes its input's feedback into the files it commits.
  expect(await git(h.remote, 'grep', '-l', 'canary-7f3a', `refs/heads/${branch}`)).not.toBe('');
  const runs = await listAgentRuns(h.database.db, { cardKey: c.cardKey });
  expect(runs.filter((r) => r.outcome === 'succeeded')).toHaveLength(2);
  expect(await listReviewRequests(h.database.db, { cardKey: c.cardKey })).toHaveLength(1);
});
