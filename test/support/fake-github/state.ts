/**
 * The fake GitHub's world: repositories, issues, pull requests (sharing the issues' number space, as on
 * GitHub), comments, issue events (labels added and removed), reviews and Projects v2 boards, plus how each
 * renders as a REST/webhook object.
 */
import { execFileSync } from 'node:child_process';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** GitHub's author_association values that matter to Ouija. */
export type Association = 'OWNER' | 'MEMBER' | 'COLLABORATOR' | 'CONTRIBUTOR' | 'NONE';

export interface FakeUser {
  login: string;
  association: Association;
}

export interface FakeRepo {
  owner: string;
  name: string;
  defaultBranch: string;
  /** A local bare repository standing in for GitHub's git side (PR heads are resolved in it). */
  gitDir?: string;
  id: number;
  nextNumber: number;
}

export interface FakeIssue {
  repo: FakeRepo;
  number: number;
  id: number;
  nodeId: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  user: FakeUser;
  createdAt: string;
  /** Moves on every change to the issue, comments included, as on GitHub. */
  updatedAt: string;
}

/** An entry of an issue's events API: labels added and removed (the only kinds the fake records). */
export interface FakeIssueEvent {
  issue: FakeIssue;
  id: number;
  event: 'labeled' | 'unlabeled';
  label: string;
  actor: FakeUser;
  createdAt: string;
}

export interface FakePull {
  repo: FakeRepo;
  number: number;
  id: number;
  nodeId: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  merged: boolean;
  head: string;
  base: string;
  user: FakeUser;
  createdAt: string;
}

export interface FakeComment {
  repo: FakeRepo;
  /** Issue or pull request number. */
  number: number;
  id: number;
  body: string;
  user: FakeUser;
  createdAt: string;
}

export interface FakeReview {
  repo: FakeRepo;
  pull: number;
  id: number;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  body: string;
  user: FakeUser;
  submittedAt: string;
}

export interface FakeReviewComment {
  repo: FakeRepo;
  pull: number;
  reviewId: number;
  id: number;
  body: string;
  path: string;
  line: number;
  user: FakeUser;
  createdAt: string;
}

export interface FakeProject {
  id: string;
  number: number;
  owner: string;
  ownerType: 'Organization' | 'User';
  title: string;
  field: { id: string; name: string; options: Array<{ id: string; name: string }> };
}

export interface FakeItem {
  id: string;
  dbId: number;
  project: FakeProject;
  issue: FakeIssue;
  /** Option id in the project's status field, or null. */
  optionId: string | null;
  updatedAt: string;
}

export class FakeState {
  readonly repos = new Map<string, FakeRepo>();
  readonly issues: FakeIssue[] = [];
  readonly pulls: FakePull[] = [];
  readonly comments: FakeComment[] = [];
  readonly issueEvents: FakeIssueEvent[] = [];
  readonly reviews: FakeReview[] = [];
  readonly reviewComments: FakeReviewComment[] = [];
  readonly projects: FakeProject[] = [];
  readonly items: FakeItem[] = [];
  private nextId = 1000;
  private lastTime = 0;

  constructor(readonly htmlBase: string) {}

  id(): number {
    return this.nextId++;
  }

  /** Strictly increasing timestamps, so `since` filters are exact even within one millisecond. */
  now(): string {
    this.lastTime = Math.max(Date.now(), this.lastTime + 1000);
    return new Date(this.lastTime).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  repo(owner: string, name: string): FakeRepo | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  issue(repo: FakeRepo, number: number): FakeIssue | undefined {
    return this.issues.find((i) => i.repo === repo && i.number === number);
  }

  pull(repo: FakeRepo, number: number): FakePull | undefined {
    return this.pulls.find((p) => p.repo === repo && p.number === number);
  }

  /** The sha a branch points at in the repository's bare git directory (null: no such branch, or no git dir). */
  branchSha(repo: FakeRepo, branch: string): string | null {
    if (!repo.gitDir) return null;
    try {
      return execFileSync('git', ['--git-dir', repo.gitDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { encoding: 'utf8' }).trim() || null;
    } catch {
      return null;
    }
  }

  /** A commit of the repository's bare git directory as GitHub's git-commit object; null when there is none. */
  gitCommitJson(repo: FakeRepo, sha: string): Json {
    if (!repo.gitDir || !/^[0-9a-f]{40}$/.test(sha)) return null;
    let out: string;
    try {
      out = execFileSync('git', ['--git-dir', repo.gitDir, 'show', '-s', '--format=%T%n%P%n%an%n%ae%n%at%n%cn%n%ce%n%ct%n%B', sha], { encoding: 'utf8' });
    } catch {
      return null;
    }
    const [tree, parents, an, ae, at, cn, ce, ct, ...message] = out.split('\n');
    const utc = (seconds: string | undefined) => new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const url = `${this.htmlBase}/${repo.owner}/${repo.name}/commit/${sha}`;
    return {
      sha,
      node_id: `C_${sha}`,
      url,
      html_url: url,
      author: { name: an, email: ae, date: utc(at) },
      committer: { name: cn, email: ce, date: utc(ct) },
      tree: { sha: tree, url },
      message: message.join('\n').trimEnd(),
      parents: (parents ?? '').split(' ').filter(Boolean).map((parent) => ({ sha: parent, url, html_url: url })),
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    };
  }

  // -------------------------------------------------------------------------------------------
  // REST / webhook renderings (the fields Ouija and the webhook parsers read, in GitHub's shapes).

  user(user: FakeUser): Json {
    return { login: user.login, id: hashId(user.login), node_id: `U_${user.login}`, type: user.login.endsWith('[bot]') ? 'Bot' : 'User', site_admin: false };
  }

  repoJson(repo: FakeRepo): Json {
    return {
      id: repo.id,
      node_id: `R_${repo.id}`,
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      private: false,
      owner: { login: repo.owner, id: hashId(repo.owner), node_id: `O_${repo.owner}`, type: 'Organization' },
      html_url: `${this.htmlBase}/${repo.owner}/${repo.name}`,
      default_branch: repo.defaultBranch,
    };
  }

  issueJson(issue: FakeIssue): Json {
    const url = `${this.htmlBase}/${issue.repo.owner}/${issue.repo.name}/issues/${issue.number}`;
    return {
      id: issue.id,
      node_id: issue.nodeId,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      labels: issue.labels.map((name) => ({ id: hashId(name), node_id: `LA_${hashId(name)}`, name, color: 'ededed', default: false, description: null })),
      user: this.user(issue.user),
      author_association: issue.user.association,
      html_url: url,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      comments: this.comments.filter((c) => c.repo === issue.repo && c.number === issue.number).length,
    };
  }

  /** A pull request as the issues API shows it (every PR is also an issue). */
  pullAsIssueJson(pull: FakePull): Json {
    return {
      id: pull.id,
      node_id: pull.nodeId,
      number: pull.number,
      title: pull.title,
      body: pull.body,
      state: pull.state,
      labels: [],
      user: this.user(pull.user),
      author_association: pull.user.association,
      html_url: this.pullUrl(pull),
      created_at: pull.createdAt,
      updated_at: pull.createdAt,
      pull_request: { url: `${this.pullUrl(pull)}`, html_url: this.pullUrl(pull), merged_at: null },
    };
  }

  pullUrl(pull: FakePull): string {
    return `${this.htmlBase}/${pull.repo.owner}/${pull.repo.name}/pull/${pull.number}`;
  }

  pullJson(pull: FakePull): Json {
    const repo = this.repoJson(pull.repo);
    const headSha = this.branchSha(pull.repo, pull.head) ?? '0'.repeat(40);
    return {
      id: pull.id,
      node_id: pull.nodeId,
      number: pull.number,
      title: pull.title,
      body: pull.body,
      state: pull.state,
      merged: pull.merged,
      merged_at: pull.merged ? pull.createdAt : null,
      draft: false,
      user: this.user(pull.user),
      author_association: pull.user.association,
      html_url: this.pullUrl(pull),
      created_at: pull.createdAt,
      updated_at: pull.createdAt,
      head: { ref: pull.head, label: `${pull.repo.owner}:${pull.head}`, sha: headSha, repo },
      base: { ref: pull.base, label: `${pull.repo.owner}:${pull.base}`, sha: this.branchSha(pull.repo, pull.base) ?? '0'.repeat(40), repo },
    };
  }

  issueEventJson(event: FakeIssueEvent): Json {
    const { repo } = event.issue;
    return {
      id: event.id,
      node_id: `${event.event === 'labeled' ? 'LE' : 'UNLE'}_${event.id}`,
      url: `${this.htmlBase}/api/repos/${repo.owner}/${repo.name}/issues/events/${event.id}`,
      actor: this.user(event.actor),
      event: event.event,
      commit_id: null,
      commit_url: null,
      created_at: event.createdAt,
      performed_via_github_app: null,
      label: { name: event.label, color: 'ededed' },
    };
  }

  commentJson(comment: FakeComment): Json {
    return {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      body: comment.body,
      user: this.user(comment.user),
      author_association: comment.user.association,
      created_at: comment.createdAt,
      updated_at: comment.createdAt,
      html_url: `${this.htmlBase}/${comment.repo.owner}/${comment.repo.name}/issues/${comment.number}#issuecomment-${comment.id}`,
    };
  }

  reviewJson(review: FakeReview): Json {
    return {
      id: review.id,
      node_id: `PRR_${review.id}`,
      state: review.state.toLowerCase(),
      body: review.body,
      user: this.user(review.user),
      author_association: review.user.association,
      submitted_at: review.submittedAt,
      commit_id: '0'.repeat(40),
      html_url: `${this.htmlBase}/${review.repo.owner}/${review.repo.name}/pull/${review.pull}#pullrequestreview-${review.id}`,
    };
  }

  reviewCommentJson(comment: FakeReviewComment): Json {
    return {
      id: comment.id,
      node_id: `PRRC_${comment.id}`,
      pull_request_review_id: comment.reviewId,
      body: comment.body,
      path: comment.path,
      line: comment.line,
      original_line: comment.line,
      side: 'RIGHT',
      diff_hunk: '@@',
      commit_id: '0'.repeat(40),
      original_commit_id: '0'.repeat(40),
      user: this.user(comment.user),
      author_association: comment.user.association,
      created_at: comment.createdAt,
      updated_at: comment.createdAt,
      html_url: `${this.htmlBase}/${comment.repo.owner}/${comment.repo.name}/pull/${comment.pull}#discussion_r${comment.id}`,
    };
  }
}

/** Stable numeric ids for names (users, labels). */
function hashId(text: string): number {
  let h = 7;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 1_000_000_007;
  return h;
}
