import { GITHUB_DEFAULTS } from '../../../src/config';
import { cardFromIssue, cardKeyFromMarker, cardMarker, cloneUrlFor, commentKeyFromMarker, commentMarker, githubCardRef, repoOfBoard } from '../../../src/plugins/kanban/github/cards';

const github = { ...GITHUB_DEFAULTS, repos: ['acme/widgets'], repoUrls: { 'Acme/Widgets': '/tmp/remote.git' } };

test('a card is an issue: board owner.repo, card the number; the board ID splits back at the first dot', () => {
  expect(githubCardRef('acme', 'my.widgets', 7)).toEqual({ provider: 'github', boardId: 'acme.my.widgets', cardId: '7' });
  expect(repoOfBoard('acme.my.widgets')).toEqual({ owner: 'acme', repo: 'my.widgets' });
  expect(() => repoOfBoard('nodot')).toThrow(/owner\.repo/);
});

test('clone URL: repoUrls (case-insensitive) wins over the template', () => {
  expect(cloneUrlFor({ owner: 'acme', repo: 'widgets' }, github)).toBe('/tmp/remote.git');
  expect(cloneUrlFor({ owner: 'acme', repo: 'gadgets' }, github)).toBe('https://github.com/acme/gadgets.git');
  const card = cardFromIssue({ owner: 'acme', repo: 'widgets', number: 3, title: 'Fix it', body: null }, github);
  expect(card).toEqual({ ref: { provider: 'github', boardId: 'acme.widgets', cardId: '3' }, key: 'github:acme.widgets:3', title: 'Fix it', body: '', repo: '/tmp/remote.git' });
});

test('markers round-trip; a missing or invalid key reads as none', () => {
  const body = `Implements the card.\n\n${cardMarker('github:acme.widgets:3')}\n`;
  expect(cardKeyFromMarker(body)).toBe('github:acme.widgets:3');
  expect(cardKeyFromMarker('no marker')).toBeNull();
  expect(cardKeyFromMarker(null)).toBeNull();
  expect(cardKeyFromMarker('<!-- ouija:card nope:acme:3 -->')).toBeNull();
  expect(commentKeyFromMarker(`hi ${commentMarker('c-1:review')}`)).toBe('c-1:review');
});
