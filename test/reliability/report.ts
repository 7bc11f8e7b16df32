/** One row per checked claim: what was expected, what was seen, over how many runs; printed and saved. */
import fs from 'node:fs';
import os from 'node:os';

export interface Row {
  scenario: string;
  runs: number;
  expected: string;
  observed: string;
  pass: boolean;
  /** Failing cases or raw figures, for the JSON report only. */
  details?: unknown;
}

export function printTable(rows: Row[]): void {
  const header = ['scenario', 'runs', 'expected', 'observed', 'pass'];
  const cells = rows.map((r) => [r.scenario, String(r.runs), r.expected, r.observed, r.pass ? 'PASS' : 'FAIL']);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((c) => c[i]!.length))));
  const line = (c: string[]) => c.map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!))).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells) console.log(line(c));
}

/** The same table as Markdown, for docs/RELIABILITY.md. */
export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return ['| scenario | runs | expected | observed | pass |', '| --- | ---: | --- | --- | --- |', ...rows.map((r) => `| ${esc(r.scenario)} | ${r.runs} | ${esc(r.expected)} | ${esc(r.observed)} | ${r.pass ? 'PASS' : 'FAIL'} |`)].join('\n');
}

export function writeReport(file: string, rows: Row[], params: unknown, startedAt: Date): void {
  const machine = { host: os.hostname(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`, node: process.version };
  const report = { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine, params, pass: rows.every((r) => r.pass), rows, markdown: markdownTable(rows) };
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}
