#!/usr/bin/env node
/**
 * THE DEMO AGENT.
 *
 * A real program that speaks Ouija's agent protocol (docs/AGENT-PROTOCOL.md) and really edits files and
 * commits, so that `ouija demo` and the tests exercise the whole loop without an AI CLI or an API key. It is
 * plain CommonJS JavaScript with no dependencies, so it runs as its own process with no build step (tsc does
 * not compile it; `demoAgentCommand()` in ./index.ts finds it from both src/ and dist/).
 *
 * What it does by default: prints a few progress lines, writes `ouija-notes/<card id>.md` in the worktree
 * (title, body, step, round and, in a revision, the review feedback), commits it, prints a result line.
 *
 * The card body can script it with lines of the form `ouija-demo: <directive>` (several per line allowed):
 *   sleep=<ms>      keep working that long, printing a heartbeat line every `heartbeat=<ms>` (default 500)
 *   exit=<code>     exit with that code after some progress
 *   hang            print nothing more and sleep forever
 *   spawn-child     first start a long-sleeping grandchild in the same process group and write its pid to
 *                   $OUIJA_RUN_DIR/child.pid
 *   no-change       change nothing
 *   print-env       emit the names of the environment's variables as a progress line
 *   per-step        write `ouija-notes/<card id>-<step>.md` instead (parallel steps then change different files)
 *   <directive>@<step>  applies to that pipeline step only, e.g. `sleep@test=4000 exit@lint=1`
 *   marker=<path>   append `start <attempt> <pid> <epoch ms>` to that file (absolute, no spaces; keep it outside
 *                   the worktree) when starting, and `end <attempt> <pid> <epoch ms>` before the result line;
 *                   the attempt is read from $OUIJA_RUN_DIR (`...-attempt-<n>`), `?` if it is not there
 *
 * Warm-session mode (a profile with `session.warm`, which sets OUIJA_SESSION_DIR): its "context" is the file
 * `context.jsonl` in the session directory, one line per earlier task of the session (card key, step, round,
 * title, body, feedback), appended when a task succeeds. Without OUIJA_SESSION_DIR the context is empty.
 * Either way it writes `$OUIJA_RUN_DIR/seen.json`: everything this run saw, `{ session, context, task }`, so a
 * test can check that no other card's text reached it (test/reliability/scenarios/context-bleed.ts).
 */
/* global require, process, console, setTimeout, setInterval */
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const IDENTITY = ['-c', 'user.name=Ouija demo agent', '-c', 'user.email=demo-agent@ouija.invalid'];
// The worktree's repository may carry hooks or signing config; the demo agent wants neither.
const HARDENED = ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false'];

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function progress(message) {
  emit({ type: 'progress', message });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readTask() {
  const file = process.env.OUIJA_TASK_FILE;
  if (!file) throw new Error('OUIJA_TASK_FILE is not set: run me through Ouija');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function parseDirectives(body, step) {
  const directives = { sleep: 0, heartbeat: 500, exit: null, hang: false, spawnChild: false, noChange: false, printEnv: false, marker: null, perStep: false };
  for (const match of String(body).matchAll(/^\s*ouija-demo:\s*(.*)$/gim)) {
    for (const word of match[1].trim().split(/\s+/).filter(Boolean)) {
      const [scopedKey, value] = word.split('=', 2);
      // `key@step=value`: for that pipeline step only.
      const [key, only] = scopedKey.split('@', 2);
      if (only !== undefined && only !== step) continue;
      const number = Number(value);
      if (key === 'sleep' && Number.isFinite(number)) directives.sleep = number;
      else if (key === 'heartbeat' && number > 0) directives.heartbeat = number;
      else if (key === 'exit' && Number.isInteger(number)) directives.exit = number;
      else if (key === 'hang') directives.hang = true;
      else if (key === 'spawn-child') directives.spawnChild = true;
      else if (key === 'no-change') directives.noChange = true;
      else if (key === 'print-env') directives.printEnv = true;
      else if (key === 'per-step') directives.perStep = true;
      else if (key === 'marker' && value && path.isAbsolute(value)) directives.marker = value;
      else progress(`ignoring unknown directive ${JSON.stringify(word)}`);
    }
  }
  return directives;
}

/** A grandchild in our process group (not detached), to show that stopping the agent stops its children too. */
function spawnChild() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  fs.writeFileSync(path.join(process.env.OUIJA_RUN_DIR, 'child.pid'), `${child.pid}\n`);
  child.unref();
  progress(`started a helper process ${child.pid}`);
}

/** One line of the marker file (see `marker=` above): which attempt, which process, when. */
function mark(file, what) {
  if (!file) return;
  const attempt = /-attempt-(\d+)$/.exec(process.env.OUIJA_RUN_DIR || '')?.[1] ?? '?';
  fs.appendFileSync(file, `${what} ${attempt} ${process.pid} ${Date.now()}\n`);
}

async function keepWorking(ms, heartbeatMs) {
  progress(`working for ${ms} ms`);
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await sleep(Math.min(heartbeatMs, until - Date.now()));
    emit({ type: 'heartbeat' });
  }
}

function notesFor(task) {
  const lines = [
    `# ${task.title}`,
    '',
    `Card \`${task.cardKey}\`, step \`${task.step}\` (${task.stepIndex + 1}), review round ${task.round}.`,
    '',
    '## Card',
    '',
    task.body || '(no description)',
    '',
  ];
  if (task.feedback.length > 0) {
    lines.push(`## Review feedback addressed in round ${task.round}`, '');
    for (const comment of task.feedback) {
      const where = comment.path ? ` (${comment.path}${comment.line ? `:${comment.line}` : ''})` : '';
      lines.push(`- ${comment.author}${where}: ${comment.body}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

function git(args) {
  return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Write the notes and commit them; returns the summary. A retry of the same step commits nothing new. */
function writeAndCommit(task, perStep) {
  const cardId = task.cardKey.split(':').pop().replace(/[^A-Za-z0-9_.-]/g, '-');
  const file = path.join('ouija-notes', perStep ? `${cardId}-${task.step.replace(/[^A-Za-z0-9_.-]/g, '-')}.md` : `${cardId}.md`);
  const notes = notesFor(task);
  fs.mkdirSync('ouija-notes', { recursive: true });
  fs.writeFileSync(file, notes);
  progress(`wrote ${file}`);
  git(['add', '--', file]);
  if (git(['diff', '--cached', '--name-only', '--', file]) === '') {
    progress(`${file} was already up to date`);
    return { summary: `${file} already up to date`, notes };
  }
  const message = `ouija demo: ${task.step} notes for ${task.cardKey} (round ${task.round})`;
  git([...HARDENED, ...IDENTITY, 'commit', '--quiet', '-m', message, '--', file]);
  const sha = git(['rev-parse', '--short', 'HEAD']);
  progress(`committed ${sha}`);
  return { summary: `wrote ${file} and committed ${sha}`, notes };
}

/** The warm session's earlier tasks (empty without a session directory). */
function readContext(sessionDir) {
  if (!sessionDir) return [];
  const file = path.join(sessionDir, 'context.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

function contextEntry(task) {
  return { cardKey: task.cardKey, step: task.step, round: task.round, title: task.title, body: task.body, feedback: task.feedback };
}

/** What this run saw, written where its supervisor's tests can read it. */
function recordInput(task, context) {
  const sessionDir = process.env.OUIJA_SESSION_DIR;
  const session = sessionDir ? { id: process.env.OUIJA_SESSION_ID, task: Number(process.env.OUIJA_SESSION_TASK), dir: sessionDir } : null;
  fs.writeFileSync(path.join(process.env.OUIJA_RUN_DIR, 'seen.json'), `${JSON.stringify({ session, context, task: contextEntry(task) }, null, 2)}\n`);
  if (session) progress(`warm session ${session.id}, task ${session.task}: ${context.length} earlier task(s) in context`);
}

async function main() {
  const task = readTask();
  const sessionDir = process.env.OUIJA_SESSION_DIR;
  const context = readContext(sessionDir);
  if (process.env.OUIJA_RUN_DIR) recordInput(task, context);
  const directives = parseDirectives(task.body, task.step);
  mark(directives.marker, 'start');
  if (directives.printEnv) progress(`env: ${Object.keys(process.env).sort().join(' ')}`);
  if (directives.spawnChild) spawnChild();
  progress(`demo agent: ${task.step} for ${task.cardKey}, round ${task.round}`);
  progress(`reading card "${task.title}"`);
  if (directives.hang) {
    setInterval(() => {}, 1 << 30);
    return;
  }
  if (directives.sleep > 0) await keepWorking(directives.sleep, directives.heartbeat);
  if (directives.exit !== null) {
    console.error(`demo agent: exiting with code ${directives.exit} as the card asked`);
    process.exitCode = directives.exit;
    return;
  }
  const { summary, notes } = directives.noChange
    ? { summary: 'no change, as the card asked', notes: '' }
    : writeAndCommit(task, directives.perStep);
  // Pretend token use proportional to what was read and written, so the demo has numbers to show.
  const tokens = { input: Math.ceil(JSON.stringify({ task, context }).length / 4), output: Math.ceil(notes.length / 4) };
  if (sessionDir) fs.appendFileSync(path.join(sessionDir, 'context.jsonl'), `${JSON.stringify(contextEntry(task))}\n`);
  mark(directives.marker, 'end');
  emit({ type: 'result', summary, tokens, costUsd: 0, ...(sessionDir ? { sessionId: process.env.OUIJA_SESSION_ID } : {}) });
}

main().catch((error) => {
  console.error(`demo agent: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
