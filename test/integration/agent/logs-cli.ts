/**
 * `ouija logs` as its own small program, for tests: the same command module main.ts registers, run as a real
 * child process through tsx (like test/support/run-cli.ts does for main.ts).
 */
import { Command } from 'commander';
import path from 'node:path';
import { registerLogsCommand } from '../../../src/cli/logs';

/** argv for spawn/execFile: this file run through tsx, then `logs …args`. */
export function logsCliArgv(args: string[]): string[] {
  const root = path.resolve(__dirname, '../../..');
  return [path.join(root, 'node_modules/tsx/dist/cli.mjs'), __filename, 'logs', ...args];
}

if (require.main === module) {
  const program = new Command('ouija');
  registerLogsCommand(program);
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
