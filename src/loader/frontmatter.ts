import * as z from 'zod';

// The frontmatter of commands/*.md and skills/<name>/SKILL.md. Two kinds of keys: those Claude
// Code documents for slash commands and skills (it acts on them), and dbops's own (the loader
// links them; Claude Code ignores keys it does not know). Anything else is reported by name with
// both lists, so a misspelt `allowed-tool` is an error rather than a silently ignored setting.

/** Keys Claude Code documents for a slash command's frontmatter. */
export const CLAUDE_CODE_COMMAND_KEYS = ['description', 'argument-hint', 'allowed-tools', 'model', 'disable-model-invocation'] as const;
/** dbops's own keys in a command's frontmatter. */
export const DBOPS_COMMAND_KEYS = ['category', 'uses-skills', 'related-commands', 'version'] as const;
/** Keys Claude Code documents for a skill's SKILL.md (the Agent Skills format). */
export const CLAUDE_CODE_SKILL_KEYS = ['name', 'description', 'allowed-tools', 'license', 'metadata'] as const;
/** dbops's own keys in a skill's frontmatter. */
export const DBOPS_SKILL_KEYS = ['related-skills'] as const;

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lower-case kebab-case');
/** Claude Code accepts "Bash(a), Bash(b)" or a YAML list. */
const allowedTools = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) =>
  Array.isArray(v)
    ? v
    : v
        .split(/,\s*(?![^()]*\))/)
        .map((s) => s.trim())
        .filter(Boolean),
);

export const commandFrontmatterSchema = z.object({
  description: z.string().min(10, 'must say what the command does'),
  'argument-hint': z.string(),
  'allowed-tools': allowedTools,
  model: z.string().optional(),
  'disable-model-invocation': z.boolean().optional(),
  category: z.string().min(1),
  'uses-skills': z.array(name).default([]),
  'related-commands': z.array(name).default([]),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a semantic version like 1.0.0'),
});

export const skillFrontmatterSchema = z.object({
  name,
  description: z.string().min(10, 'must say when to use the skill'),
  'allowed-tools': allowedTools,
  license: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  'related-skills': z.array(name).default([]),
});

/** The keys of `data` that neither Claude Code nor dbops reads, each with a line saying so. */
export function unknownKeys(data: Record<string, unknown>, kind: 'command' | 'skill'): string[] {
  const claude: readonly string[] = kind === 'command' ? CLAUDE_CODE_COMMAND_KEYS : CLAUDE_CODE_SKILL_KEYS;
  const own: readonly string[] = kind === 'command' ? DBOPS_COMMAND_KEYS : DBOPS_SKILL_KEYS;
  return Object.keys(data)
    .filter((key) => !claude.includes(key) && !own.includes(key))
    .map((key) => `unknown key "${key}" (Claude Code reads ${claude.join(', ')}; dbops reads ${own.join(', ')})`);
}

export type CommandFrontmatter = z.output<typeof commandFrontmatterSchema>;
export type SkillFrontmatter = z.output<typeof skillFrontmatterSchema>;
