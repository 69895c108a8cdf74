#!/usr/bin/env node
'use strict';
// CommonJS (bin/package.json): launch-built.js says why.
require('./launch-built.js')
  .launchBuilt('dbops', 'cli/main.js', 'dbops.mjs')
  .catch((error) => {
    process.stderr.write(`dbops could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
