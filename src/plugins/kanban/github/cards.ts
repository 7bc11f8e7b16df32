/**
 * GitHub card identity: a card is an issue. Its board is the repository (`owner.repo`: logins cannot contain
 * '.', so the first '.' splits them), its card ID the issue number. Pull requests and comments Ouija writes
 * carry hidden markers, so a webhook about them leads back to the card.
 */
import { cardKey, parseCardKey } from '../../../core/cards';
import type { CardInfo, CardRef } from '../../../core/types';
import type { GithubSettings } from '../../../config';

export interface RepoName {
  owner: string;
  repo: string;
}

/** The fields of an issue Ouija reads (a webhook payload's `issue`, or a REST/GraphQL answer mapped to it). */
export interface GithubIssue {
  number: number;
  title: string;
  body?: string | null;
  labels?: ReadonlyArray<{ name?: string } | string> | null;
}

export function githubCardRef(owner: string, repo: string, number: number): CardRef {
  return { provider: 'github', boardId: `${owner}.${repo}`, cardId: String(number) };
}

export function repoOfBoard(boardId: string): RepoName {
  const dot = boardId.indexOf('.');
  if (dot <= 0 || dot === boardId.length - 1) throw new Error(`${JSON.stringify(boardId)} is not a GitHub board ID (owner.repo)`);
  return { owner: boardId.slice(0, dot), repo: boardId.slice(dot + 1) };
}

/** `owner/repo` as listed in config (GitHub names are case-insensitive). */
export function fullName({ owner, repo }: RepoName): string {
  return `${owner}/${repo}`;
}

export function isConfiguredRepo(name: RepoName, github: Pick<GithubSettings, 'repos'>): boolean {
  const wanted = fullName(name).toLowerCase();
  return github.repos.some((r) => r.toLowerCase() === wanted);
}

/** The URL (or, in tests, local path) the workspace clones: `repoUrls` wins over the `cloneUrl` template. */
export function cloneUrlFor(name: RepoName, github: Pick<GithubSettings, 'cloneUrl' | 'repoUrls'>): string {
  const wanted = fullName(name).toLowerCase();
  const explicit = Object.entries(github.repoUrls).find(([key]) => key.toLowerCase() === wanted);
  if (explicit) return explicit[1];
  return github.cloneUrl.replaceAll('{owner}', name.owner).replaceAll('{repo}', name.repo);
}

export function labelNames(issue: Pick<GithubIssue, 'labels'>): string[] {
  return (issue.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((n) => n !== '');
}

/** `github` is the config's `github` section. */
export function cardFromIssue(issue: GithubIssue & RepoName, github: Pick<GithubSettings, 'cloneUrl' | 'repoUrls'>): CardInfo {
  const ref = githubCardRef(issue.owner, issue.repo, issue.number);
  return { ref, key: cardKey(ref), title: issue.title, body: issue.body ?? '', repo: cloneUrlFor(issue, github) };
}

// ---------------------------------------------------------------------------------------------
// Hidden markers. HTML comments do not render, and the key's alphabet ([A-Za-z0-9_.:-]) cannot close one.

const CARD_MARKER = /<!-- ouija:card ([A-Za-z0-9_.:-]{1,300}) -->/;

export function cardMarker(key: string): string {
  return `<!-- ouija:card ${key} -->`;
}

/** The card key in a pull request body, or null when there is none or it is not a valid key. */
export function cardKeyFromMarker(body: string | null | undefined): string | null {
  const match = CARD_MARKER.exec(body ?? '');
  if (!match) return null;
  try {
    parseCardKey(match[1]!);
    return match[1]!;
  } catch {
    return null;
  }
}

export function commentMarker(commentKey: string): string {
  return `<!-- ouija:comment ${commentKey} -->`;
}

const COMMENT_MARKER = /<!-- ouija:comment ([^\s<>]{1,300}) -->/;

export function commentKeyFromMarker(body: string | null | undefined): string | null {
  return COMMENT_MARKER.exec(body ?? '')?.[1] ?? null;
}
