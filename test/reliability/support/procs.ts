/**
 * Processes seen through /proc (Linux): what the reliability scenarios use to count agent processes — leftovers
 * (orphans) after a crash, and how many ran at once per worktree.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Proc {
  pid: number;
  /** Process group (an agent and its forks share one; each attempt leads its own). */
  pgid: number | null;
  cmdline: string;
  cwd: string | null;
}

function pgidOf(pid: number): number | null {
  try {
    // Fields after the parenthesised command name: state, ppid, pgrp, ...
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    return Number.isInteger(pgrp) ? pgrp : null;
  } catch {
    return null;
  }
}

/** Every process we may read (others' vanish or refuse: skipped). */
export function listProcs(): Proc[] {
  const procs: Proc[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return procs;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue;
    }
    if (!cmdline) continue; // kernel threads, zombies
    let cwd: string | null = null;
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      /* not ours, or gone */
    }
    procs.push({ pid, pgid: pgidOf(pid), cmdline, cwd });
  }
  return procs;
}

/** Processes that belong to a scenario's directory: running in it, or naming it on their command line. */
export function procsUnder(dir: string, except: number[] = [process.pid]): Proc[] {
  const root = path.resolve(dir);
  const inside = (p: string | null) => p !== null && (p === root || p.startsWith(root + path.sep));
  return listProcs().filter((p) => !except.includes(p.pid) && (inside(p.cwd) || p.cmdline.includes(root)));
}

/** The demo agent's processes among `procs` (its script by name: its git children carry `demo-agent@` in their argv). */
export function demoAgents(procs: Proc[]): Proc[] {
  return procs.filter((p) => /demo-agent\.(js|ts)\b/.test(p.cmdline));
}

/**
 * Samples the demo agents under `dir` every `everyMs` until stopped: the most that ever ran at once in one
 * working directory (invariant 3 says 1 per card).
 */
export function sampleAgents(dir: string, everyMs = 250): { stop(): { maxPerCwd: number; worst: string | null; samples: number } } {
  let maxPerCwd = 0;
  let worst: string | null = null;
  let samples = 0;
  const timer = setInterval(() => {
    samples++;
    // Agents are counted by process group: a fork of the agent about to exec git still shows the agent's command
    // line for a moment, but it is in the agent's group; another attempt would lead a group of its own.
    const perCwd = new Map<string, Set<number | null>>();
    for (const p of demoAgents(procsUnder(dir))) perCwd.set(p.cwd ?? '?', (perCwd.get(p.cwd ?? '?') ?? new Set()).add(p.pgid ?? p.pid));
    for (const [cwd, groups] of perCwd) {
      const n = groups.size;
      if (n > maxPerCwd) {
        maxPerCwd = n;
        worst = cwd;
      }
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { maxPerCwd, worst, samples };
    },
  };
}
