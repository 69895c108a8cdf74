import { z } from 'zod';

// The frontmatter of commands/*.md and skills/<name>/SKILL.md, in Claude Code's conventions.
// Strict: a misspelt key is an error, not a silently ignored setting.

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case kebab-case');
/** Claude Code accepts "Bash(a), Bash(b)" or a YAML list. */
const allowedTools = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (Array.isArray(v) ? v : v.split(/,\s*(?![^()]*\))/).map((s) => s.trim()).filter(Boolean)));

export const commandFrontmatterSchema = z.strictObject({
  description: z.string().min(10, 'must say what the command does'),
  'argument-hint': z.string(),
  'allowed-tools': allowedTools,
  category: z.string().min(1),
  'uses-skills': z.array(name).default([]),
  'related-commands': z.array(name).default([]),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a semantic version like 1.0.0'),
  'disable-model-invocation': z.boolean().optional(),
  model: z.string().optional(),
});

export const skillFrontmatterSchema = z.strictObject({
  name,
  description: z.string().min(10, 'must say when to use the skill'),
  'allowed-tools': allowedTools,
  'related-skills': z.array(name).default([]),
});

export type CommandFrontmatter = z.output<typeof commandFrontmatterSchema>;
export type SkillFrontmatter = z.output<typeof skillFrontmatterSchema>;
