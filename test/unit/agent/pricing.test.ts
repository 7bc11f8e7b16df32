/** Cost from token counts (adapters/pricing.ts), as the Codex and Gemini adapters use it. */
import { costUsd, type ModelPrice } from '../../../src/plugins/agent/adapters/pricing';

const table: Record<string, ModelPrice> = { 'model-a': { input: 2, cachedInput: 0.5, output: 8 } };

test('uncached input, cached input and output at their own prices, per million tokens', () => {
  // 750k × $2 + 250k × $0.50 + 100k × $8 = 1.5 + 0.125 + 0.8
  expect(costUsd(table, 'model-a', { input: 1_000_000, cachedInput: 250_000, output: 100_000 })).toBe(2.425);
});

test('rounded to a millionth of a dollar; cached never counts for more than the input', () => {
  expect(costUsd(table, 'model-a', { input: 1, cachedInput: 0, output: 0 })).toBe(0.000002);
  expect(costUsd(table, 'model-a', { input: 100, cachedInput: 500, output: 0 })).toBe(0.00005);
});

test('a model without a price costs 0, including names of Object.prototype members', () => {
  for (const model of [undefined, 'model-b', 'constructor', 'toString', '__proto__']) {
    expect(costUsd(table, model, { input: 1000, cachedInput: 0, output: 1000 })).toBe(0);
  }
});
