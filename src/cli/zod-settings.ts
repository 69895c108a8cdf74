import * as z from 'zod';

// A CLI run parses each schema once or twice. zod's JIT compiles a function per object schema on
// its first parse (new Function), which pays off only over many parses: measured on list-backups
// (20 alternating runs, Node 22.12), medians 171 -> 161 ms with it off. The MCP server, started
// through the same main(), parses one input per call, and the interpreter is as fast there.
// zod reads the setting when a schema is built, not when it parses: main() calls this before it
// loads any module that builds one (test/pg/start-up-modules.test.ts counts the functions made).
export function settleZodForCli(): void {
  z.config({ jitless: true });
}
