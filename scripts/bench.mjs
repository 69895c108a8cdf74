#!/usr/bin/env node
// npm run bench: the compiled benchmark (src/bench/).
import { launchBuilt } from '../bin/launch-built.js';

await launchBuilt('dbops bench', 'bench/main.js');
