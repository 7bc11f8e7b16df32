import type { Command } from 'commander';
import { loadConfig } from '../config';
import { connectDatabase, migrateToLatest } from '../db';

export async function migrateCommand(): Promise<void> {
  const config = loadConfig();
  const database = await connectDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const applied = await migrateToLatest(database.db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await database.close();
  }
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (also done on every start)')
    .action(() => migrateCommand());
}
