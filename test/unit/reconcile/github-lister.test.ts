/**
 * The GitHub lister's pure parts: column roles (labels: done > review > working; project Status names) and
 * when a label was last added, from an issue's events.
 */
import { lastLabelled, roleFromLabels, roleFromStatus } from '../../../src/plugins/kanban/github/lister';

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

test('the last time a label was added: latest `labeled` event for that name (case-insensitive); null when never', () => {
  const events = [
    { event: 'labeled', created_at: '2024-05-01T09:00:00Z', label: { name: 'ouija' } },
    { event: 'commented', created_at: '2024-05-01T09:30:00Z' },
    { event: 'unlabeled', created_at: '2024-05-01T10:00:00Z', label: { name: 'ouija' } },
    { event: 'labeled', created_at: '2024-05-01T11:00:00Z', label: { name: 'OUIJA' } },
    { event: 'labeled', created_at: '2024-05-01T12:00:00Z', label: { name: 'ouija:review' } },
    { event: 'unlabeled', created_at: '2024-05-01T13:00:00Z', label: { name: 'ouija' } },
  ];
  expect(lastLabelled(events, 'ouija')).toBe('2024-05-01T11:00:00Z');
  expect(lastLabelled(events, 'ouija:review')).toBe('2024-05-01T12:00:00Z');
  expect(lastLabelled(events, 'ouija:done')).toBeNull();
  expect(lastLabelled([], 'ouija')).toBeNull();
});
