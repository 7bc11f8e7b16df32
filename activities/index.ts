export * from './types';
export * from './workspace';
export * from './agent';
export * from './board';
export * from './notify';
export * from './logger';
