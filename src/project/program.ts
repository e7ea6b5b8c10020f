// program.md: the human's instructions to the proposers. A missing or empty one is not an error (the
// search proposer does not read it), but an LLM or agent proposer then works without any direction.

/** Why `program` (the file's text at the commit proposers read, or null when it is not there) deserves a warning, or null. */
export function programWarning(name: string, text: string | null): string | null {
  const fix = `write what to try, what to avoid and what the metric means in ${name}, and commit it (\`autoresearch init\` writes a skeleton)`;
  if (text === null) return `${name} is missing: proposers get no instructions from you; ${fix}`;
  if (text.trim() === "") return `${name} is empty: proposers get no instructions from you; ${fix}`;
  return null;
}
