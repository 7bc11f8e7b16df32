/**
 * The shared timeline the sleeper agent appends to (bench/agent/sleeper.js): when each agent of each
 * implementation started and ended. Read back after a scenario to compute dispatch and step latencies.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const SLEEPER = path.join(__dirname, 'agent', 'sleeper.js');

export interface AgentSpan {
  impl: string;
  card: string;
  step: string;
  start: number;
  end: number | null;
}

export class Timeline {
  constructor(readonly file: string) {
    fs.writeFileSync(file, '');
  }

  /** Agent runs of one implementation, in start order (a card run twice shows up twice). */
  spans(impl: string): AgentSpan[] {
    const open = new Map<string, AgentSpan[]>();
    const spans: AgentSpan[] = [];
    for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line) as { impl: string; card: string; step: string; ev: 'start' | 'end'; t: number };
      if (e.impl !== impl) continue;
      const key = `${e.card}\n${e.step}`;
      if (e.ev === 'start') {
        const span: AgentSpan = { impl, card: e.card, step: e.step, start: e.t, end: null };
        spans.push(span);
        open.set(key, [...(open.get(key) ?? []), span]);
      } else {
        const span = open.get(key)?.shift();
        if (span) span.end = e.t;
      }
    }
    return spans.sort((a, b) => a.start - b.start);
  }
}

/** Runs the sleeper as a child process (as Ouija's agent activity does) and resolves when it exits cleanly. */
export function runSleeper(timeline: string, impl: string, card: string, step: string, sleepMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SLEEPER, card, step, String(sleepMs)], { env: { PATH: process.env.PATH ?? '', BENCH_TIMELINE: timeline, BENCH_IMPL: impl } }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}
