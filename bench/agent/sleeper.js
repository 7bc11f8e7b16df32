#!/usr/bin/env node
/**
 * The benchmark's scripted agent: records when it started and ended in a shared timeline file, sleeps the
 * time it was given, and under Ouija (which checks that a step changed the branch) commits one file.
 * Every implementation starts this same program as a child process, so "agent started" and "agent ended"
 * mean the same thing for all three, Node's own start-up included.
 *
 *   under Ouija:  OUIJA_TASK_FILE (the card; its body says `bench: sleep@<step>=<ms> ...`), BENCH_TIMELINE, BENCH_IMPL
 *   otherwise:    sleeper.js <card key> <step> <sleep ms>, BENCH_TIMELINE, BENCH_IMPL
 * Timeline lines: {"impl","card","step","ev":"start"|"end","t":<epoch ms, fractional>}.
 */
/* global require, process, setTimeout */
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

const now = () => performance.timeOrigin + performance.now();
const startedAt = now();

function task() {
  const file = process.env.OUIJA_TASK_FILE;
  if (!file) {
    const [card, step, sleep] = process.argv.slice(2);
    return { card, step, sleepMs: Number(sleep) || 0, commit: false };
  }
  const t = JSON.parse(fs.readFileSync(file, 'utf8'));
  // `bench: sleep@<step>=<ms> ...`: each step's own sleep (the steps of a parallel group sleep differently).
  const sleeps = new Map([...String(t.body).matchAll(/sleep@([A-Za-z0-9_.-]+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  return { card: t.cardKey, step: t.step, sleepMs: sleeps.get(t.step) ?? 0, commit: true };
}

function record(card, step, ev, t) {
  // One short line per O_APPEND write: concurrent agents never interleave inside a line.
  const line = `${JSON.stringify({ impl: process.env.BENCH_IMPL, card, step, ev, t })}\n`;
  fs.appendFileSync(process.env.BENCH_TIMELINE, line);
}

function commit(card, step) {
  const file = `bench-${step}.txt`;
  fs.writeFileSync(file, `${card} ${step} ${startedAt}\n`);
  const git = (args) => execFileSync('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', ...args], { stdio: 'ignore' });
  git(['add', '--', file]);
  git(['-c', 'user.name=bench', '-c', 'user.email=bench@ouija.invalid', 'commit', '--quiet', '-m', `bench ${step}`, '--', file]);
}

async function main() {
  const { card, step, sleepMs, commit: mustCommit } = task();
  record(card, step, 'start', startedAt);
  // A heartbeat line now and then, as a real agent prints progress (Ouija's silence watchdog reads it).
  for (let left = sleepMs; left > 0; left -= 500) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, left)));
    process.stdout.write('{"type":"heartbeat"}\n');
  }
  if (mustCommit) commit(card, step);
  record(card, step, 'end', now());
  process.stdout.write(`${JSON.stringify({ type: 'result', summary: `slept ${sleepMs} ms` })}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench sleeper: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
