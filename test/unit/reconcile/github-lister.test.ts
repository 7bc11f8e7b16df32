/** Column roles of GitHub issues for the reconciler: labels (done > review > working) and project Status names. */
import { roleFromLabels, roleFromStatus } from '../../../src/plugins/kanban/github/lister';

const labels = { working: 'ouija', review: 'ouija:review', done: 'ouija:done' };
const columns = { working: ['In Progress', 'Doing'], review: ['In Review'], done: ['Done'] };

test('labels: the strongest role wins, so the echo of our own move (review added, working not yet removed) reads review', () => {
  expect(roleFromLabels(['ouija'], labels)).toBe('working');
  expect(roleFromLabels(['ouija', 'ouija:review'], labels)).toBe('review');
  expect(roleFromLabels(['ouija:review', 'ouija:done', 'ouija'], labels)).toBe('done');
  expect(roleFromLabels(['bug'], labels)).toBe('other');
  expect(roleFromLabels(['OUIJA'], labels)).toBe('working');
});

test('project Status names map onto roles case-insensitively; unset or unknown is other', () => {
  expect(roleFromStatus('doing', columns)).toBe('working');
  expect(roleFromStatus('In Review', columns)).toBe('review');
  expect(roleFromStatus('Done', columns)).toBe('done');
  expect(roleFromStatus('Backlog', columns)).toBe('other');
  expect(roleFromStatus(null, columns)).toBe('other');
});
