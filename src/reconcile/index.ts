export * from './types';
export * from './out-of-step';
export * from './workflow-view';
export * from './builtin-snapshot';
export * from './reconciler';
export * from './start';
