/**
 * Structured JSON logs (pino). Every line about a card carries its key; child loggers add workflow,
 * run and delivery IDs. `OUIJA_LOG_LEVEL` sets the level (default info; tests default to warn).
 */
import pino from 'pino';

export type Logger = pino.Logger;

// Tests fail agents and forge signatures on purpose: only errors would be news there.
const defaultLevel = process.env.JEST_WORKER_ID ? 'error' : 'info';

/** Logs go to stderr, so commands that print results (`ouija demo --json`) keep stdout clean. */
export const log: Logger = pino(
  {
    name: 'ouija',
    level: process.env.OUIJA_LOG_LEVEL ?? defaultLevel,
    base: { pid: process.pid },
  },
  pino.destination(2),
);
