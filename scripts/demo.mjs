#!/usr/bin/env node
// npm run demo: the compiled demo (src/demo/).
import { launchBuilt } from '../bin/launch-built.js';

await launchBuilt('dbops demo', 'demo/main.js');
