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

function parseDirectives(body) {
  const directives = { sleep: 0, heartbeat: 500, exit: null, hang: false, spawnChild: false, noChange: false, printEnv: false };
  for (const match of String(body).matchAll(/^\s*ouija-demo:\s*(.*)$/gim)) {
    for (const word of match[1].trim().split(/\s+/).filter(Boolean)) {
      const [key, value] = word.split('=', 2);
      const number = Number(value);
      if (key === 'sleep' && Number.isFinite(number)) directives.sleep = number;
      else if (key === 'heartbeat' && number > 0) directives.heartbeat = number;
      else if (key === 'exit' && Number.isInteger(number)) directives.exit = number;
      else if (key === 'hang') directives.hang = true;
      else if (key === 'spawn-child') directives.spawnChild = true;
      else if (key === 'no-change') directives.noChange = true;
      else if (key === 'print-env') directives.printEnv = true;
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
function writeAndCommit(task) {
  const cardId = task.cardKey.split(':').pop().replace(/[^A-Za-z0-9_.-]/g, '-');
  const file = path.join('ouija-notes', `${cardId}.md`);
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

async function main() {
  const task = readTask();
  const directives = parseDirectives(task.body);
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
    : writeAndCommit(task);
  // Pretend token use proportional to what was read and written, so the demo has numbers to show.
  const tokens = { input: Math.ceil(JSON.stringify(task).length / 4), output: Math.ceil(notes.length / 4) };
  emit({ type: 'result', summary, tokens, costUsd: 0 });
}

main().catch((error) => {
  console.error(`demo agent: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
