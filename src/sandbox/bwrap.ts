// The sandbox a phase that runs mutable code runs in: bubblewrap (`bwrap`) with its own user, PID,
// network, IPC, UTS and mount namespaces. Inside, the filesystem is built from nothing: read-only
// system directories and interpreters, the candidate's files read-only, the phase's writable
// directories, a private size-limited /tmp and an empty HOME — nothing else of the machine or the
// project. Every host path keeps its own path inside, so the contract's paths stay valid.
// When the phase's first process ends, the kernel kills everything else in its PID namespace.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";

export interface SandboxSpec {
  /** Working directory; must be under one of the read-only or writable paths. */
  cwd: string;
  /** Host paths (files or directories) the phase may read. */
  readOnly: string[];
  /** Host directories the phase may write. */
  writable: string[];
  /** A directory the phase may read except for these files (absolute paths under it), which are absent. */
  data?: { dir: string; hidden: string[] };
  network: boolean;
  /** Device nodes the phase may use (a slot's GPU: /dev/nvidia0, ...). */
  devices: string[];
  limits: SandboxLimits;
}

export interface SandboxLimits {
  /** Private /tmp (and HOME inside it), MiB. */
  tmpMb: number;
  /** Largest file the phase may write, MiB. */
  maxFileMb: number;
  /** Most processes and threads at once (enforced through a cgroup where the harness can make one, else RLIMIT_NPROC). */
  maxProcesses: number;
  /** Address-space limit per process, MiB (RLIMIT_AS), when the config sets one. */
  memoryMb?: number;
}

/** The sandbox's user: not root, so tools that behave differently for root do not. */
export const SANDBOX_UID = 1000;
export const SANDBOX_HOME = "/tmp/home";

const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** What of /etc programs need: the loader, users and groups, time zone, certificates, Python's config. Not shadow, not ssh. */
const ETC_ENTRIES = [
  "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "nsswitch.conf", "localtime", "timezone",
  "ssl", "ca-certificates", "ca-certificates.conf", "mime.types", "os-release", "debian_version", "lsb-release",
  "python3", "fonts", "gai.conf", "host.conf",
];
const NETWORK_ETC_ENTRIES = ["resolv.conf", "hosts"];
/** The parts of an interpreter's prefix (a venv, pyenv, conda, a Node install) that programs load from. */
const PREFIX_PARTS = ["bin", "sbin", "shims", "lib", "lib32", "lib64", "libexec", "include", "versions", "plugins", "pyvenv.cfg", "conda-meta", "etc", "share"];
/** Under a home directory, a prefix's etc and share may hold an application's secrets (keyrings, tokens). */
const HOME_PREFIX_EXCLUDED = new Set(["etc", "share"]);

export interface LaunchOptions {
  /**
   * Shell code (the harness's, never data) that runs inside, before the command and in the same shell. With
   * one, no prlimit process starts: the prelude sets the per-process limits itself (shellLimits).
   */
  prelude?: string;
  /**
   * bwrap reports the sandbox's first process on `info` (its pid, as JSON) and holds it, once the sandbox is
   * built and before anything of the command runs, until a byte arrives on `block` or that descriptor closes.
   */
  holdFds?: { info: number; block: number };
}

/**
 * The program and arguments that run `command` with `/bin/sh -c` inside the sandbox, with exactly
 * `env` as its environment (HOME, TMPDIR and the user's names are the sandbox's own).
 */
export function sandboxLaunch(command: string, spec: SandboxSpec, env: Record<string, string>, options: LaunchOptions = {}): { file: string; args: string[] } {
  const args: string[] = [
    "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
    "--uid", String(SANDBOX_UID), "--gid", String(SANDBOX_UID),
    "--die-with-parent", "--new-session", "--as-pid-1", "--hostname", "sandbox",
  ];
  if (spec.network) args.push("--share-net");
  for (const dir of SYSTEM_DIRS) args.push(...bindSystemPath(dir));
  for (const entry of ETC_ENTRIES) args.push("--ro-bind-try", `/etc/${entry}`, `/etc/${entry}`);
  if (spec.network) for (const entry of NETWORK_ETC_ENTRIES) args.push("--ro-bind-try", `/etc/${entry}`, `/etc/${entry}`);
  args.push("--ro-bind", identityFiles().passwd, "/etc/passwd", "--ro-bind", identityFiles().group, "/etc/group");
  args.push("--proc", "/proc", "--dev", "/dev", "--ro-bind-try", "/sys", "/sys");
  for (const device of spec.devices) args.push("--dev-bind-try", device, device);
  const tmpBytes = String(spec.limits.tmpMb * 1024 * 1024);
  args.push("--size", tmpBytes, "--tmpfs", "/tmp", "--dir", SANDBOX_HOME, "--size", tmpBytes, "--tmpfs", "/dev/shm");
  // Later mounts cover earlier ones: interpreters, then the phase's own paths, writable ones last.
  for (const path of spec.readOnly) args.push("--ro-bind", path, path);
  if (spec.data) args.push(...bindData(spec.data.dir, spec.data.hidden));
  for (const path of spec.writable) args.push("--bind", path, path);
  args.push("--chdir", spec.cwd);
  const inside = { ...env, HOME: SANDBOX_HOME, TMPDIR: "/tmp", USER: "sandbox", LOGNAME: "sandbox", PWD: spec.cwd };
  args.push("--clearenv");
  for (const [name, value] of Object.entries(inside)) args.push("--setenv", name, value);
  if (options.holdFds) args.push("--info-fd", String(options.holdFds.info), "--block-fd", String(options.holdFds.block));
  args.push("--");
  if (options.prelude === undefined) return { file: "bwrap", args: [...args, "/usr/bin/prlimit", ...limitFlags(spec.limits), "--", "/bin/sh", "-c", command] };
  // The prelude on lines of its own: the command is parsed after it, as it was written.
  return { file: "bwrap", args: [...args, "/bin/sh", "-c", `${options.prelude}\n${command}`] };
}

/** Exit code of a launch whose limits could not be set (it then runs nothing). */
export const LIMITS_FAILED_EXIT = 97;

/**
 * The per-process limits of `limits` as POSIX `ulimit` calls (soft and hard), for the shell inside the sandbox
 * before the command: lowering a limit needs no privilege, and every process the command starts inherits it.
 * The process count is left out: where limits are set this way a cgroup bounds it (RLIMIT_NPROC does not bind
 * a sandbox whose user maps to root outside). File sizes are in 512-byte blocks and memory in KiB, as POSIX
 * and dash, bash (as sh) and busybox count them.
 */
export function shellLimits(limits: SandboxLimits): string {
  const calls = [`ulimit -f ${limits.maxFileMb * 2048}`, "ulimit -c 0"];
  if (limits.memoryMb !== undefined) calls.push(`ulimit -v ${limits.memoryMb * 1024}`);
  return `{ ${calls.join(" && ")}; } || { echo "autoresearch: cannot set the sandbox's limits (${calls.join("; ")})" >&2; exit ${LIMITS_FAILED_EXIT}; }`;
}

function limitFlags(limits: SandboxLimits): string[] {
  const flags = [`--fsize=${limits.maxFileMb * 1024 * 1024}`, `--nproc=${limits.maxProcesses}`, "--core=0"];
  if (limits.memoryMb !== undefined) flags.push(`--as=${limits.memoryMb * 1024 * 1024}`);
  return flags;
}

/** /bin and friends are symlinks into /usr on merged-/usr systems: recreate the link, or bind the directory. */
function bindSystemPath(path: string): string[] {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return [];
  }
  if (stat.isSymbolicLink()) return ["--symlink", readlinkSync(path), path];
  return stat.isDirectory() ? ["--ro-bind", path, path] : [];
}

/**
 * The data directory read-only without the hidden files: directories with nothing hidden inside are
 * bound whole, the others are rebuilt entry by entry, so a hidden file is simply not there.
 */
function bindData(dir: string, hidden: readonly string[]): string[] {
  if (!existsSync(dir)) return [];
  const hiddenSet = new Set(hidden);
  const containsHidden = (path: string) => hidden.some((file) => file === path || file.startsWith(path + sep));
  const walk = (path: string): string[] => {
    if (hiddenSet.has(path)) return [];
    if (!containsHidden(path)) return ["--ro-bind", path, path];
    const out = ["--dir", path];
    for (const entry of readdirSync(path)) out.push(...walk(join(path, entry)));
    return out;
  };
  return walk(dir);
}

let identity: { passwd: string; group: string } | undefined;

/** A passwd and group that name only the sandbox's user (the host's list of users is not the phase's business). */
function identityFiles(): { passwd: string; group: string } {
  if (identity && existsSync(identity.passwd) && existsSync(identity.group)) return identity;
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-sandbox-"));
  const passwd = join(dir, "passwd");
  const group = join(dir, "group");
  writeFileSync(passwd, `root:x:0:0:root:/root:/bin/sh\nsandbox:x:${SANDBOX_UID}:${SANDBOX_UID}:sandbox:${SANDBOX_HOME}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`, { mode: 0o444 });
  writeFileSync(group, `root:x:0:\nsandbox:x:${SANDBOX_UID}:\nnogroup:x:65534:\n`, { mode: 0o444 });
  identity = { passwd, group };
  return identity;
}

/**
 * Host paths the sandbox needs to run the workload's interpreters: the Node running the harness
 * (which `node` in a command resolves to) and the prefixes of the directories on PATH that are not
 * system directories (a venv, pyenv, conda), plus AUTORESEARCH_PYTHON's. Paths inside `excluded`
 * (the project, the harness's own packages) are never included.
 */
export function interpreterPaths(options: { path: string; python?: string; home?: string; excluded: string[] }): string[] {
  const found = new Set<string>();
  const excluded = options.excluded.map((path) => safeRealpath(path) ?? path);
  const isExcluded = (path: string) => excluded.some((root) => path === root || path.startsWith(root + sep) || root.startsWith(path + sep));
  const home = options.home ? (safeRealpath(options.home) ?? options.home) : undefined;
  const add = (path: string) => {
    const real = safeRealpath(path);
    if (real && !isSystem(real) && !isExcluded(real)) found.add(real);
  };
  const addPrefix = (prefix: string, depth = 0) => {
    const real = safeRealpath(prefix);
    if (!real || isSystem(real) || real === "/" || isExcluded(real) || (home && real === home)) return;
    const underHome = home !== undefined && real.startsWith(home + sep);
    for (const part of PREFIX_PARTS) {
      if (underHome && HOME_PREFIX_EXCLUDED.has(part)) continue;
      if (existsSync(join(real, part))) add(join(real, part));
    }
    const venvHome = venvBase(real);
    if (venvHome && depth < 3) addPrefix(dirname(venvHome), depth + 1);
  };
  const node = safeRealpath(process.execPath);
  if (node) found.add(node);
  for (const dir of options.path.split(":").filter((entry) => isAbsolute(entry))) {
    const real = safeRealpath(dir);
    if (!real || isSystem(real) || isExcluded(real)) continue;
    if (["bin", "sbin", "shims"].includes(basename(real))) addPrefix(dirname(real));
    else add(real);
  }
  if (options.python && isAbsolute(options.python)) {
    const real = safeRealpath(options.python);
    if (real) addPrefix(dirname(dirname(real)));
  }
  return collapse([...found]);
}

/** A venv's base interpreter directory, from its pyvenv.cfg ("home = /path/to/bin"). */
function venvBase(prefix: string): string | null {
  const cfg = join(prefix, "pyvenv.cfg");
  if (!existsSync(cfg)) return null;
  const match = /^home\s*=\s*(.+)$/m.exec(readFileSync(cfg, "utf8"));
  return match ? match[1].trim() : null;
}

function isSystem(path: string): boolean {
  return SYSTEM_DIRS.some((dir) => path === dir || path.startsWith(dir + "/")) || path === "/usr/local" || path.startsWith("/usr/local/");
}

function safeRealpath(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** Drops paths inside other listed paths (one bind covers them). */
function collapse(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter((path) => !sorted.some((other) => other !== path && !relative(other, path).startsWith("..") && path.startsWith(other + sep)));
}

/** The device nodes a slot's GPU needs, and nothing of the other GPUs. */
export function gpuDeviceNodes(device: string): string[] {
  const match = /^cuda:(\d+)$/.exec(device);
  if (!match) return [];
  const nodes = [`/dev/nvidia${match[1]}`, "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset", "/dev/nvidia-caps"];
  return nodes.filter((node) => {
    try {
      statSync(node);
      return true;
    } catch {
      return false;
    }
  });
}
