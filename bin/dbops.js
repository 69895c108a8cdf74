#!/usr/bin/env node
import { launchBuilt } from './launch-built.js';

await launchBuilt('dbops', 'cli/main.js', 'dbops.mjs');
