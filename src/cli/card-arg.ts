import { cardKeyFromWorkflowId, parseCardKey } from '../core/cards';

/** Operators may name a card by its key (`builtin:b1:c1`) or by its workflow ID (`card:builtin:b1:c1`). */
export function cardKeyFromArg(arg: string): string {
  const key = arg.startsWith('card:') ? cardKeyFromWorkflowId(arg) : arg;
  parseCardKey(key);
  return key;
}
