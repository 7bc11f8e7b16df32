export * from './types';
export * from './ingest';
