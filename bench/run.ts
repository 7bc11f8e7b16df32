/**
 * `npm run bench`: the coordination-tax benchmark. Ouija, bare Temporal and BullMQ side by side in
 * one run; prints a table and writes bench/results/<date>.json. Sizes: `--name=value` flags (see DEFAULTS).
 * Ouija logs at warn here unless OUIJA_LOG_LEVEL says otherwise (its info lines would bury the table).
 */
process.env.OUIJA_LOG_LEVEL ??= 'warn';
process.env.TEMPORAL_LOG_LEVEL ??= 'ERROR';

// Required only now, so the settings above are in place before src/log reads them.
const { main } = require('./main') as typeof import('./main');
main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
