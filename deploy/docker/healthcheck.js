#!/usr/bin/env node
/*
 * The Ouija image's health check: GET <url> must answer 200 within 4 s (exit 0), else exit 1.
 *
 *   node healthcheck.js [url]
 *
 * Without a URL it probes what the container's main process serves, read from PID 1's command line:
 * `ouija api` → http://127.0.0.1:$PORT/healthz (default 3000); `ouija worker` → $WORKER_PORT's /healthz (a worker
 * without WORKER_PORT serves nothing: nothing to probe, exit 0); any other command (setup, migrate, …) → exit 0.
 * Plain JavaScript without dependencies, so a probe every few seconds costs a bare Node start, not the CLI's.
 */
'use strict';
/* global require, module, process, console */
const fs = require('node:fs');
const http = require('node:http');

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** The URL to probe for a process started with `argv` and environment `env`, or null when it serves none. */
function healthUrl(argv, env) {
  const cli = argv.findIndex((arg) => /(^|\/)ouija(\.js)?$/.test(arg));
  const command = cli >= 0 ? argv[cli + 1] : undefined;
  const port = command === 'api' ? env.PORT || '3000' : command === 'worker' ? env.WORKER_PORT : undefined;
  if (!port) return null;
  const host = env.HOST && !WILDCARDS.has(env.HOST) ? env.HOST : '127.0.0.1';
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}/healthz`;
}

/** PID 1's argv (the container's main process), or [] where there is no /proc. */
function mainProcessArgv() {
  try {
    return fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function probe(url, timeoutMs = 4000) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? { ok: true } : { ok: false, reason: `HTTP ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, reason: err.message }));
  });
}

async function main() {
  const url = process.argv[2] || healthUrl(mainProcessArgv(), process.env);
  if (!url) {
    console.log('healthcheck: this process serves no health endpoint; nothing to probe');
    return 0;
  }
  const result = await probe(url);
  if (result.ok) return 0;
  console.error(`healthcheck: ${url}: ${result.reason}`);
  return 1;
}

module.exports = { healthUrl, probe };

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  });
}
