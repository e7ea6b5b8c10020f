// What must still happen when the harness quits at once (a second Ctrl-C calls process.exit):
// synchronous steps only (node:sqlite is synchronous), registered by whoever holds the state.
const hooks = new Set<() => void>();

/** Registers a synchronous step for an immediate exit; returns its removal. */
export function onEmergencyExit(hook: () => void): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Runs every registered step once (each failure is ignored: the process is about to exit). */
export function runEmergencyExitHooks(): void {
  for (const hook of [...hooks]) {
    hooks.delete(hook);
    try {
      hook();
    } catch {
      // nothing more can be done; the next run's recovery repairs the rest
    }
  }
}
