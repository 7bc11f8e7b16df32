/** Which column role an issue is in: from its labels (labels mode) or its project Status (project mode). */
import type { ColumnRole } from '../../../core/types';
import type { GithubSettings } from '../../../config';

/** done > review > working > other, from the current labels (case-insensitive, as GitHub compares them). */
export function roleFromLabels(labels: readonly string[], names: GithubSettings['labels']): ColumnRole {
  const has = (name: string) => labels.some((l) => l.toLowerCase() === name.toLowerCase());
  if (has(names.done)) return 'done';
  if (has(names.review)) return 'review';
  if (has(names.working)) return 'working';
  return 'other';
}

/** The role of a project Status option named `status` (case-insensitive); `other` when unmapped or unset. */
export function roleFromStatus(status: string | null | undefined, columns: NonNullable<GithubSettings['project']>['columns']): ColumnRole {
  if (!status) return 'other';
  const wanted = status.toLowerCase();
  for (const role of ['done', 'review', 'working'] as const) {
    if (columns[role].some((name) => name.toLowerCase() === wanted)) return role;
  }
  return 'other';
}
