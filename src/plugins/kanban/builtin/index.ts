export * from './events';
export * from './inbound';
export * from './webhook';
export * from './board-client';
