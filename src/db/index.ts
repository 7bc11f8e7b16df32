/** Ouija's own data in Postgres (or embedded PGlite): connection, migrations and queries. */
export * from './schema';
export * from './errors';
export * from './connect';
export * from './migrate';
export * from './boards';
export * from './deliveries';
export * from './agent-runs';
export * from './agent-events';
export * from './agent-event-writer';
export * from './card-usage';
export * from './review-requests';
