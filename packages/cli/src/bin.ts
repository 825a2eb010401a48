#!/usr/bin/env node
import { main } from './main.js';

// process.exitCode rather than process.exit(): output still in the pipes is
// written before the process ends.
process.exitCode = await main(process.argv.slice(2));
