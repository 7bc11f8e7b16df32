import { getReviewRequest, listReviewRequests, setReviewRequestState, upsertReviewRequest } from '../../../src/db';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => test?.close());

const request = (branch: string, headSha: string) => ({
  forge: 'local',
  repo: '/srv/repo.git',
  branch,
  cardKey: `builtin:b1:${branch.replace(/\W/g, '')}`,
  title: 'Fix the login',
  headSha,
  url: `file:///srv/repo.git#${branch}`,
});

describe('review requests', () => {
  it('opens once per branch; a second upsert only moves the head', async () => {
    const first = await upsertReviewRequest(test.db, request('ouija/c1-fix', 'aaa'));
    expect(first).toMatchObject({ state: 'open', headSha: 'aaa', title: 'Fix the login' });

    const second = await upsertReviewRequest(test.db, { ...request('ouija/c1-fix', 'bbb'), title: 'Renamed', url: 'elsewhere' });
    expect(second).toMatchObject({ id: first.id, headSha: 'bbb', title: 'Fix the login', url: first.url, createdAt: first.createdAt });
    expect(second.updatedAt.getTime()).toBeGreaterThanOrEqual(first.updatedAt.getTime());

    expect(await getReviewRequest(test.db, { forge: 'local', repo: '/srv/repo.git', branch: 'ouija/c1-fix' })).toEqual(second);
    expect(await listReviewRequests(test.db, { cardKey: first.cardKey })).toHaveLength(1);
  });

  it('keeps one row when the same request is opened concurrently', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => upsertReviewRequest(test.db, request('ouija/c2-race', 'ccc'))));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(await listReviewRequests(test.db, { cardKey: results[0]!.cardKey })).toHaveLength(1);
  });

  it('records merged and closed states', async () => {
    const key = { forge: 'local', repo: '/srv/repo.git', branch: 'ouija/c3-merge' };
    await upsertReviewRequest(test.db, request(key.branch, 'ddd'));
    expect(await setReviewRequestState(test.db, { ...key, state: 'merged' })).toMatchObject({ state: 'merged' });
    expect((await listReviewRequests(test.db, { state: 'merged' })).map((r) => r.branch)).toEqual([key.branch]);
    expect(await setReviewRequestState(test.db, { ...key, branch: 'nope', state: 'closed' })).toBeUndefined();
    expect(await getReviewRequest(test.db, { ...key, branch: 'nope' })).toBeUndefined();
  });
});
