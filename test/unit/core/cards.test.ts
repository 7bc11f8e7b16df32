import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import {
  InvalidCardRefError,
  branchNameForCard,
  cardKey,
  cardKeyFromWorkflowId,
  fingerprint,
  isSafeBranchName,
  parseCardKey,
  slugify,
  workflowIdForCard,
} from '../../../src/core/cards';
import type { CardRef } from '../../../src/core/types';

const idArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/);
const refArb: fc.Arbitrary<CardRef> = fc.record({
  provider: fc.constantFrom('builtin' as const, 'github' as const, 'linear' as const, 'trello' as const),
  boardId: idArb,
  cardId: idArb,
});
/** Any text at all: lone surrogates, control characters, astral planes, plain ASCII. */
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string({ maxLength: 300 }));

const HOSTILE_TITLES = [
  '../../etc/passwd',
  '$(rm -rf /)',
  '`touch /tmp/pwned`',
  '--upload-pack=x',
  '-c core.sshCommand=evil',
  'refs/heads/@{-1}',
  'feature.lock',
  'a..b',
  'line\nbreak\r\0nul\x1b[31m',
  '\u202Eevil\u202Cgpj.exe',
  '🔥💥 emoji 🚀',
  '   ',
  '',
  '\\\\server\\share',
  'x'.repeat(1024 * 1024),
];

/** A slug is lower-case alphanumerics joined by single dashes: nothing git or a shell could read as syntax. */
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

describe('card keys', () => {
  it('round-trips through cardKey / parseCardKey and the workflow ID', () => {
    fc.assert(
      fc.property(refArb, (ref) => {
        const key = cardKey(ref);
        expect(parseCardKey(key)).toEqual(ref);
        expect(cardKeyFromWorkflowId(workflowIdForCard(key))).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it.each(['github:a', 'github:a:b:c', 'gitlab:a:b', 'github::b', 'github:a/b:c', 'github:a:$(x)', 'github:a:b\n'])('rejects the key %j', (key) => {
    expect(() => parseCardKey(key)).toThrow(InvalidCardRefError);
  });

  it('rejects IDs outside the safe alphabet', () => {
    fc.assert(
      fc.property(anyText.filter((t) => !/^[A-Za-z0-9_.-]{1,128}$/.test(t)), (bad) => {
        expect(() => cardKey({ provider: 'github', boardId: 'b', cardId: bad })).toThrow(InvalidCardRefError);
        expect(() => cardKey({ provider: 'github', boardId: bad, cardId: 'c' })).toThrow(InvalidCardRefError);
      }),
      { numRuns: 300 },
    );
    expect(() => cardKeyFromWorkflowId('other:github:a:b')).toThrow(InvalidCardRefError);
  });
});

describe('slugify', () => {
  it.each(HOSTILE_TITLES.map((t) => [t.slice(0, 40), t]))('makes a safe slug of %j', (_, title) => {
    const slug = slugify(title);
    expect(slug === 'card' || SLUG.test(slug)).toBe(true);
    expect(slug.length).toBeLessThanOrEqual(40);
  });

  it('keeps readable words and drops accents', () => {
    expect(slugify('Add a /healthz endpoint!')).toBe('add-a-healthz-endpoint');
    expect(slugify('Crème brûlée')).toBe('creme-brulee');
    expect(slugify('$(rm -rf /)')).toBe('rm-rf');
    expect(slugify('🔥🔥')).toBe('card');
  });

  it('only ever produces [a-z0-9-] slugs within the length limit', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 1, max: 80 }), (text, max) => {
        const slug = slugify(text, max);
        expect(SLUG.test(slug)).toBe(true);
        expect(slug.length).toBeLessThanOrEqual(Math.max(max, 'card'.length));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('branchNameForCard', () => {
  const ref: CardRef = { provider: 'github', boardId: 'acme', cardId: '42' };

  it.each(HOSTILE_TITLES.map((t) => [t.slice(0, 40), t]))('derives a branch git accepts from %j', (_, title) => {
    const branch = branchNameForCard(ref, title);
    expect(isSafeBranchName(branch)).toBe(true);
    // git itself is the oracle for ref syntax; argument array, no shell.
    expect(() => execFileSync('git', ['check-ref-format', '--branch', branch], { stdio: 'pipe' })).not.toThrow();
  });

  it('is safe, stable and distinct per card for any title', () => {
    fc.assert(
      fc.property(refArb, refArb, anyText, (a, b, title) => {
        const branch = branchNameForCard(a, title);
        expect(isSafeBranchName(branch)).toBe(true);
        // git's check-ref-format rules, spelled out: printable ASCII only, and none of its special sequences.
        expect(branch).toMatch(/^[!-~]+$/);
        expect(branch).not.toMatch(/\.\.|@\{|\.lock$|\/\.|[~^:?*[\\]/);
        expect(branchNameForCard(a, title)).toBe(branch);
        if (cardKey(a) !== cardKey(b)) expect(branchNameForCard(b, title)).not.toBe(branch);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a ref it cannot key', () => {
    expect(() => branchNameForCard({ provider: 'github', boardId: 'a', cardId: '../x' }, 'title')).toThrow(InvalidCardRefError);
  });

  it('fingerprints as 8 hex digits', () => {
    expect(fingerprint('github:acme:42')).toMatch(/^[0-9a-f]{8}$/);
    expect(fingerprint('a')).not.toBe(fingerprint('b'));
  });
});
