// The workflow bundle's entry: every workflow type the workflows task queue runs.
export { cardWorkflow } from './card';
export { limiterWorkflow } from './limiter';
