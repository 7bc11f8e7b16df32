/** GitHub's documented webhook examples for the events Ouija receives, and what each should become. */
const examples: Array<{ name: string; examples: unknown[] }> = require('@octokit/webhooks-examples');

export const GITHUB_EVENTS = ['issues', 'projects_v2_item', 'pull_request', 'pull_request_review', 'pull_request_review_comment', 'issue_comment', 'ping'];

/** [label, event, payload] for every example of those events. */
export function exampleCases(): Array<[string, string, unknown]> {
  return examples
    .filter((e) => GITHUB_EVENTS.includes(e.name))
    .flatMap((e) => e.examples.map((payload, i): [string, string, unknown] => [`${e.name}.${(payload as { action?: string }).action ?? ''} #${i}`, e.name, payload]));
}

/**
 * `<event>.<action>` → trigger type, with github.repos holding the examples' repositories and labels as columns.
 * Everything else is ignored: the examples carry no Ouija labels or markers.
 */
export const EXPECTED_TRIGGER: Record<string, string> = {
  'issues.edited': 'card.edited',
  'issues.deleted': 'card.deleted',
  'issues.transferred': 'card.deleted',
};

/** A copy of a pull_request / pull_request_review example as if Ouija's forge had opened the PR. */
export function withPrMarker(payload: unknown, key: string, branch: string): unknown {
  const copy = structuredClone(payload) as { pull_request: { body: string | null; head: { ref: string; repo: { full_name: string } | null } }; repository: { full_name: string } };
  copy.pull_request.body = `${copy.pull_request.body ?? ''}\n<!-- ouija:card ${key} -->`;
  copy.pull_request.head.ref = branch;
  copy.pull_request.head.repo = { ...copy.pull_request.head.repo, full_name: copy.repository.full_name };
  return copy;
}
