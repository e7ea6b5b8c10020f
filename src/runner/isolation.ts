// Hiding files from one phase (the held-out splits from the mutable train code): the command runs
// in a private mount namespace (Linux `unshare`) where each hidden file is covered by an empty file
// that is unlinked at once. Reading one there gives nothing, and what is written to it goes nowhere;
// outside the namespace, for the evaluator and everyone else, nothing changes. (Not /dev/null: a
// chmod of the covering file would change the machine's /dev/null.) Not a sandbox: it hides the
// named files, nothing more.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Exit code of the wrapper when a file could not be covered (the phase then fails rather than run with it visible). */
export const HIDE_FAILED_EXIT = 97;

const HIDE_SCRIPT = [
  `command=$1; shift; empty=$(mktemp) || exit ${HIDE_FAILED_EXIT}`,
  `for file in "$@"; do mount --bind "$empty" "$file" || { echo "autoresearch: could not hide $file from this phase" >&2; rm -f "$empty"; exit ${HIDE_FAILED_EXIT}; }; done`,
  'rm -f "$empty"; exec /bin/sh -c "$command"',
].join("\n");

/** The program and arguments that run `command` with `/bin/sh -c`, with `hide` (absolute paths) covered. */
export function launchWithHidden(command: string, hide: readonly string[]): { file: string; args: string[] } {
  if (hide.length === 0) return { file: "/bin/sh", args: ["-c", command] };
  // Without root, a user namespace (uid 0 inside, the user's own uid outside) grants the right to mount.
  const mapUser = process.getuid?.() === 0 ? [] : ["--map-root-user"];
  return { file: "unshare", args: ["--mount", "--propagation", "private", ...mapUser, "--", "/bin/sh", "-c", HIDE_SCRIPT, "sh", command, ...hide] };
}

/** null when hiding works on this machine, else why not (tried for real on a temporary file). */
export async function hidingProblem(): Promise<string | null> {
  if (process.platform !== "linux") return `hiding files needs Linux mount namespaces; this is ${process.platform}`;
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-hide-"));
  try {
    const secret = join(dir, "secret");
    writeFileSync(secret, "visible");
    const { file, args } = launchWithHidden(`cat '${secret}'`, [secret]);
    const result = await new Promise<{ code: number | string | null; stdout: string; stderr: string }>((resolve) => {
      execFile(file, args, { timeout: 10_000 }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? null) : 0, stdout, stderr }));
    });
    if (result.code === "ENOENT") return "unshare (util-linux) is not installed";
    if (result.code !== 0) return `unshare failed: ${(result.stderr.trim() || `exit ${result.code}`).split("\n")[0]} (unprivileged user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone, or AppArmor's restriction on Ubuntu)`;
    if (result.stdout !== "") return "the file was still readable inside the mount namespace";
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
