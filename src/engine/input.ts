import type { z } from 'zod';
import { DbopsError } from './errors.js';

/** Validates a command's input with its zod schema; every problem in one usage error. */
export function parseInput<S extends z.ZodType>(command: string, schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`);
  throw new DbopsError('OPTION_INVALID', `${command}: ${problems.join('; ')}.`, { details: problems });
}
