#!/usr/bin/env node
// Seatkeeper is written in TypeScript and runs through tsx's loader: one code path for the CLI, the service and
// the tests, with nothing to build after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/cli/main.ts');
await run();
