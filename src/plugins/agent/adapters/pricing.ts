/**
 * Cost from token counts, for CLIs that report usage but no price (Codex, Gemini CLI). Each adapter keeps its
 * own small table of list prices; a model missing from it costs 0 rather than a guess.
 */

/** USD per million tokens. `cachedInput`: the price of input tokens served from the provider's prompt cache. */
export interface ModelPrice {
  input: number;
  cachedInput: number;
  output: number;
}

export interface TokenUsage {
  /** Every prompt token, cached ones included. */
  input: number;
  /** The part of `input` read from the prompt cache. */
  cachedInput: number;
  output: number;
}

/** Cost in USD, rounded to a millionth of a dollar; 0 when the model has no price in `table`. */
export function costUsd(table: Readonly<Record<string, ModelPrice>>, model: string | undefined, usage: TokenUsage): number {
  // Own keys only: a model named like an Object.prototype member (`constructor`) has no price either.
  const price = model !== undefined && Object.hasOwn(table, model) ? table[model] : undefined;
  if (!price) return 0;
  const cached = Math.min(usage.cachedInput, usage.input);
  const dollars = ((usage.input - cached) * price.input + cached * price.cachedInput + usage.output * price.output) / 1_000_000;
  return Math.round(dollars * 1_000_000) / 1_000_000;
}
