#!/usr/bin/env node
// npm run bench [-- --quick | --scale MB] [--runs N]: the compiled benchmark (src/bench/).
import { launchBuilt } from '../bin/launch-built.js';

await launchBuilt('dbops bench', 'bench/main.js');
