/** 6. Replaying the saved card histories (test/histories/*.json), repeated up to `total`, with src/temporal/replay.ts. */
import path from 'node:path';
import { historyFilesAt, loadHistoryFile, type LoadedHistory } from '../src/temporal/histories';
import { replayHistories } from '../src/temporal/replay';

export async function replay(total: number, bundleCode: string) {
  const files = await historyFilesAt(path.join(__dirname, '..', 'test', 'histories'));
  const saved = await Promise.all(files.map(loadHistoryFile));
  function* repeated(): Generator<LoadedHistory> {
    for (let i = 0; i < total; i++) yield saved[i % saved.length]!;
  }
  const started = Date.now();
  let failures = 0;
  for await (const outcome of replayHistories(repeated(), { workflowBundle: { code: bundleCode } })) if (outcome.failure) failures++;
  const elapsedMs = Date.now() - started;
  return { histories: total, distinct: saved.length, elapsedMs, perHistoryMs: Math.round((elapsedMs / total) * 100) / 100, failures };
}
