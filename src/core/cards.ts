/**
 * Card keys, workflow IDs and branch names: all derived from the card, never from raw user text,
 * so that a retried webhook lands on the same workflow and no title can smuggle a git option or ref trick.
 */
import type { CardRef, Provider } from './types';

const PROVIDERS: readonly Provider[] = ['builtin', 'github', 'linear', 'trello'];
/** Board and card IDs as providers issue them: node IDs, UUIDs, numbers, hex. */
const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

export class InvalidCardRefError extends Error {
  override name = 'InvalidCardRefError';
}

export function isProvider(value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value);
}

/** `provider:board:card`. Throws InvalidCardRefError on IDs outside the safe alphabet. */
export function cardKey(ref: CardRef): string {
  if (!isProvider(ref.provider)) throw new InvalidCardRefError(`unknown provider ${JSON.stringify(ref.provider)}`);
  for (const [name, value] of [['board', ref.boardId], ['card', ref.cardId]] as const) {
    if (!ID_PATTERN.test(value)) throw new InvalidCardRefError(`${name} ID ${JSON.stringify(value)} is not of the form ${ID_PATTERN}`);
  }
  return `${ref.provider}:${ref.boardId}:${ref.cardId}`;
}

export function parseCardKey(key: string): CardRef {
  const parts = key.split(':');
  if (parts.length !== 3) throw new InvalidCardRefError(`card key ${JSON.stringify(key)} is not provider:board:card`);
  const [provider, boardId, cardId] = parts as [string, string, string];
  if (!isProvider(provider)) throw new InvalidCardRefError(`unknown provider ${JSON.stringify(provider)}`);
  const ref = { provider, boardId, cardId };
  cardKey(ref);
  return ref;
}

/** One workflow per card: its ID is the card key (invariant 1). */
export function workflowIdForCard(key: string): string {
  return `card:${key}`;
}

export function cardKeyFromWorkflowId(workflowId: string): string {
  if (!workflowId.startsWith('card:')) throw new InvalidCardRefError(`${workflowId} is not a card workflow ID`);
  return workflowId.slice('card:'.length);
}

/** A card named by an operator: its key (`builtin:b1:c1`) or its workflow ID (`card:builtin:b1:c1`) → the key. */
export function cardKeyFromArg(arg: string): string {
  const key = arg.startsWith('card:') ? cardKeyFromWorkflowId(arg) : arg;
  parseCardKey(key);
  return key;
}

/** Lower-case `[a-z0-9-]` slug of at most `max` characters; never empty. */
export function slugify(text: string, max = 40): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return slug || 'card';
}

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable, pure fingerprint (not for security). */
export function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

const BRANCH_PATTERN = /^ouija\/[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * `ouija/<card id>-<title slug>-<fingerprint of the key>`: readable, unique per card across boards that
 * share a repository, and made only of `[a-z0-9-]` after the fixed prefix.
 */
export function branchNameForCard(ref: CardRef, title: string): string {
  const name = `ouija/${slugify(ref.cardId, 24)}-${slugify(title, 40)}-${fingerprint(cardKey(ref))}`;
  if (!isSafeBranchName(name)) throw new InvalidCardRefError(`derived branch name ${name} is unsafe`);
  return name;
}

/** The only branch names Ouija will pass to git. */
export function isSafeBranchName(name: string): boolean {
  return name.length <= 120 && BRANCH_PATTERN.test(name);
}
