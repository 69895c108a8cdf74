import type { Manifest } from './manifest.js';
import { relativePathProblem, shownPath } from './confine.js';

// What the schema alone lets through in a hostile metadata.json: paths that leave the folder,
// strings long enough to flood a listing or a model's context, numbers past exact integers.
// Every problem names where it is, never the value.

const MAX_STRING = 4096;
/** Target names and labels are shown in every listing. */
const MAX_NAME = 200;

export function manifestProblems(manifest: Manifest): string[] {
  const problems: string[] = [];
  walk(manifest, '', problems);
  if (manifest.target.length > MAX_NAME) problems.push(`target is longer than ${MAX_NAME} characters`);
  if ((manifest.label ?? '').length > MAX_NAME) problems.push(`label is longer than ${MAX_NAME} characters`);
  for (const name of Object.keys(manifest.files)) {
    const problem = relativePathProblem(name);
    if (problem !== undefined) problems.push(`files names the path ${shownPath(name)}, which ${problem}`);
  }
  for (const [i, t] of manifest.criticalTables.entries()) {
    const problem = relativePathProblem(t.file);
    if (problem !== undefined) problems.push(`criticalTables.${i}.file ${shownPath(t.file)} ${problem}`);
    else if (!(t.file in manifest.files)) problems.push(`criticalTables.${i}.file ${shownPath(t.file)} is not among the checksummed files`);
  }
  return problems;
}

function walk(value: unknown, at: string, problems: string[]): void {
  if (problems.length >= 20) return;
  if (typeof value === 'string') {
    if (value.length > MAX_STRING) problems.push(`${at || '(root)'} is longer than ${MAX_STRING} characters`);
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) problems.push(`${at || '(root)'} is not an exact number`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(v, `${at}.${i}`, problems);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.length > MAX_STRING) problems.push(`${at || '(root)'} has a key longer than ${MAX_STRING} characters`);
      else walk(v, at ? `${at}.${shownKey(k)}` : shownKey(k), problems);
    }
  }
}

const shownKey = (k: string) => (k.length > 40 ? `${k.slice(0, 40)}…` : k);
