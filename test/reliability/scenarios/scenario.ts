/** What a reliability scenario is: a name, and a function from a fresh Ouija and the sizes to table rows. */
import type { DeepPartial, OuijaConfig } from '../../../src/config';
import { WEBHOOK_SECRET, type Harness } from '../../support/ouija-harness';
import type { Row } from '../report';

export interface Params {
  /** Only the quick subset of the corpus. */
  quick: boolean;
  /** Only these corpus case ids (empty: all). */
  cases: string[];
  stormDeliveries: number;
  stormCopies: number;
  stormMaxDelayMs: number;
  stormForged: number;
  stormReplayed: number;
  writers: number;
  movesPerWriter: number;
  /** The webhook body limit the payload-size scenario configures (the default is Ouija's own, 25 MiB). */
  maxBodyBytes: number;
  /** `--set name=value` sizes for the scenarios that read them with `size()`. */
  sizes: Record<string, number>;
}

/** A scenario's size: `--set name=value` if given, else the scenario's default. */
export function size(params: Params, name: string, fallback: number): number {
  return params.sizes[name] ?? fallback;
}

export interface Scenario {
  name: string;
  /** Config overrides for this scenario's Ouija. */
  overrides?: (params: Params) => DeepPartial<OuijaConfig>;
  run(input: { harness: Harness; params: Params }): Promise<Row[]>;
}

export const RELIABILITY_SECRETS = { builtin: WEBHOOK_SECRET, github: 'reliability-github-secret' };
