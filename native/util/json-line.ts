// One line of a child's NDJSON output as an object, or undefined for anything else (human-readable text between the
// JSON lines, a number, an array): the shared first step of every line parser on both sides of the CLI.
export function jsonObjectOf(line: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
