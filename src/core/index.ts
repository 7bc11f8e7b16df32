/** The pure core's public API: card lifecycle types, card keys and branch names, state and transition. */
export * from './types';
export * from './cards';
export * from './state';
export * from './effect-ids';
export { transition } from './transition';
