// What is recorded of a command's arguments has a size, whatever the caller sent: each string is
// cut short, each list keeps its first items, nesting stops. A history row says what was asked
// (enough to recognise the run), never carries a megabyte a caller pasted into a flag.

export const RECORDED_STRING_MAX = 300;
export const RECORDED_LIST_MAX = 50;
const DEPTH_MAX = 4;

export function boundedText(text: string, max = RECORDED_STRING_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

export function boundedForRecord(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return boundedText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= DEPTH_MAX) return '(nested too deep)';
  if (Array.isArray(value)) {
    const kept = value.slice(0, RECORDED_LIST_MAX).map((v) => boundedForRecord(v, depth + 1));
    return value.length > RECORDED_LIST_MAX ? [...kept, `… ${value.length - RECORDED_LIST_MAX} more`] : kept;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const kept = entries.slice(0, RECORDED_LIST_MAX).map(([k, v]) => [boundedForRecord(k, DEPTH_MAX) as string, boundedForRecord(v, depth + 1)]);
  if (entries.length > RECORDED_LIST_MAX) kept.push(['…', `${entries.length - RECORDED_LIST_MAX} more keys`]);
  return Object.fromEntries(kept);
}
