#!/usr/bin/env node
// The `ouija` CLI. The TypeScript is compiled to dist/ by `npm run build` (run by `npm ci` via `prepare`).
require('../dist/src/cli/main.js');
