/** The Temporal Web UI server (github.com/temporalio/ui-server) in front of a Temporal frontend. */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log';
import { spawnGroup, type GroupProcess } from '../processes';

/** The UI server's config (its JSON is valid YAML, which is what it reads). */
export function uiServerConfig(o: { temporalAddress: string; host: string; port: number; defaultNamespace: string }): Record<string, unknown> {
  return {
    temporalGrpcAddress: o.temporalAddress,
    host: o.host,
    port: o.port,
    enableUi: true,
    defaultNamespace: o.defaultNamespace,
    // Plain HTTP on loopback: a Secure CSRF cookie would not come back.
    cors: { cookieInsecure: true, allowOrigins: [`http://${o.host}:${o.port}`, `http://localhost:${o.port}`] },
    // No internet here, and no reason for a local cluster to ask for news.
    disableNewsFetch: true,
    notifyOnNewVersion: false,
    refreshInterval: '0s',
    auth: { enabled: false },
  };
}

export interface UiServerProcess {
  url: string;
  pid: number;
  process: GroupProcess;
  stop(): Promise<void>;
}

/** Writes `<dir>/config/development.yaml` and starts the UI server; resolves once /healthz answers. */
export async function startUiServer(o: {
  binary: string;
  dir: string;
  temporalAddress: string;
  host: string;
  port: number;
  defaultNamespace: string;
  log?: Logger;
  startTimeoutMs?: number;
}): Promise<UiServerProcess> {
  const configDir = path.join(o.dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(path.join(configDir, 'development.yaml'), `${JSON.stringify(uiServerConfig(o), null, 2)}\n`);
  const proc = await spawnGroup(o.binary, ['--root', o.dir, '--config', 'config', '--env', 'development', 'start'], { name: 'temporal-ui-server', cwd: o.dir, log: o.log });
  const url = `http://${o.host}:${o.port}`;
  const stop = () => proc.stop({ graceMs: 5_000 });
  const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
  for (;;) {
    if (proc.exit()) throw new Error(`Temporal UI server exited early (code ${proc.exit()!.code}):\n${proc.tail}`);
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Temporal UI server at ${url} did not answer /healthz:\n${proc.tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, pid: proc.pid, process: proc, stop };
}
