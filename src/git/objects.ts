// Git objects without a git process each: a candidate's blobs, trees and commit are written as
// loose objects from here (zlib + sha1, as git writes them), and the trees they are built on are read
// once (one `git ls-tree`) and kept, keyed by object id, which never changes what it names. A slot
// then builds a candidate, lists a commit's files and reads a file it wrote without starting git.
// Only for what this code knows how to write exactly: a sha1 repository without a compat object
// format or a shared-repository setting, plain paths, no file/directory swap. Everything else gets
// null here and the caller uses git's own commands.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { deflateSync } from "node:zlib";
import { runGit } from "./exec.ts";

interface TreeEntry {
  /** As a tree object spells it: 100644, 100755, 120000, 40000 (a directory), 160000 (a submodule). */
  mode: string;
  name: string;
  oid: string;
}

const TREE_MODE = "40000";
const FULL_OID = /^[0-9a-f]{40}$/;
// Components git and this code agree on: no ".", "..", ".git" (any case), nothing empty, no NUL.
const PLAIN_COMPONENT = /^(?!\.{1,2}$)(?!\.git$)[^/\0]+$/i;
// A repository whose listing is larger than this is left to git (the cache would hold too much).
const MAX_LISTED_ENTRIES = 50_000;
const MAX_CACHED_TREE_ENTRIES = 200_000;
const MAX_CACHED_COMMITS = 20_000;
const MAX_CACHED_BLOB_CHARS = 16 * 1024 * 1024;
const MAX_BLOB_CHARS = 1024 * 1024;

interface Store {
  objectsDir: string;
  /** Tree id → its entries, in tree order. */
  trees: Map<string, TreeEntry[]>;
  treeEntries: number;
  /** Commit id → its root tree's id (null when only its entries were listed) and the root's entries. */
  commits: Map<string, { tree: string | null; entries: TreeEntry[] }>;
  /** Blob id → its content as text, for blobs this process wrote or read. */
  blobs: Map<string, string>;
  blobChars: number;
}

// Repository directory → its store (null: not one this code writes to), resolved once per process.
const stores = new Map<string, Promise<Store | null>>();
const opened = new Map<string, Store>();

/** Opened by the first commit written or files listed here (two git processes, once); reading one file uses only an open store. */
function storeFor(repo: string): Promise<Store | null> {
  const key = resolve(repo);
  let store = stores.get(key);
  if (!store) {
    store = openStore(key).then((made) => {
      if (made) opened.set(key, made);
      return made;
    }, () => null);
    stores.set(key, store);
  }
  return store;
}

async function openStore(repo: string): Promise<Store | null> {
  const { stdout } = await runGit(repo, ["rev-parse", "--git-path", "objects", "--show-object-format"]);
  const [objects, format] = stdout.split("\n");
  if (format !== "sha1" || !objects) return null;
  // Settings that change how objects must be written (group permissions, a second object format).
  const settings = await runGit(repo, ["config", "--get-regexp", "^(core\\.sharedrepository|extensions\\.compatobjectformat)$"], { okExitCodes: [1] });
  if (settings.stdout.trim() !== "") return null;
  const objectsDir = isAbsolute(objects) ? objects : resolve(repo, objects);
  if (!existsSync(objectsDir)) return null;
  return { objectsDir, trees: new Map(), treeEntries: 0, commits: new Map(), blobs: new Map(), blobChars: 0 };
}

/** Writes one object (unless it is already there loose) and returns its id. */
function writeObject(store: Store, type: "blob" | "tree" | "commit", content: Buffer): string {
  const object = Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content]);
  const oid = createHash("sha1").update(object).digest("hex");
  const dir = join(store.objectsDir, oid.slice(0, 2));
  const path = join(dir, oid.slice(2));
  if (existsSync(path)) {
    // As git does: a fresh mtime keeps an object about to be referenced from being pruned as old.
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // read-only or gone meanwhile: the object is there or the next reader says so
    }
    return oid;
  }
  mkdirSync(dir, { recursive: true });
  const temporary = join(dir, `tmp_obj_${process.pid}_${randomBytes(6).toString("hex")}`);
  try {
    writeFileSync(temporary, deflateSync(object), { mode: 0o444 });
    renameSync(temporary, path); // atomic; another writer of the same object wrote the same bytes
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return oid;
}

/** Git's order: by name bytes, a directory compared as if its name ended in "/". */
function treeOrder(a: TreeEntry, b: TreeEntry): number {
  const key = (entry: TreeEntry) => Buffer.from(entry.mode === TREE_MODE ? `${entry.name}/` : entry.name);
  return Buffer.compare(key(a), key(b));
}

function writeTree(store: Store, entries: TreeEntry[]): string {
  const sorted = [...entries].sort(treeOrder);
  const parts: Buffer[] = [];
  for (const entry of sorted) parts.push(Buffer.from(`${entry.mode} ${entry.name}\0`), Buffer.from(entry.oid, "hex"));
  const oid = writeObject(store, "tree", Buffer.concat(parts));
  remember(store, oid, sorted);
  return oid;
}

function remember(store: Store, oid: string, entries: TreeEntry[]): void {
  if (store.trees.has(oid)) return;
  store.trees.set(oid, entries);
  store.treeEntries += entries.length + 1;
  for (const [old, oldEntries] of store.trees) {
    if (store.treeEntries <= MAX_CACHED_TREE_ENTRIES) break;
    store.trees.delete(old);
    store.treeEntries -= oldEntries.length + 1;
  }
}

function rememberCommit(store: Store, commit: string, value: { tree: string | null; entries: TreeEntry[] }): void {
  store.commits.set(commit, value);
  if (store.commits.size > MAX_CACHED_COMMITS) store.commits.delete(store.commits.keys().next().value!);
}

function rememberBlob(store: Store, oid: string, text: string): void {
  if (text.length > MAX_BLOB_CHARS || store.blobs.has(oid)) return;
  store.blobs.set(oid, text);
  store.blobChars += text.length;
  for (const [old, oldText] of store.blobs) {
    if (store.blobChars <= MAX_CACHED_BLOB_CHARS) break;
    store.blobs.delete(old);
    store.blobChars -= oldText.length;
  }
}

/**
 * Reads a commit's (or a tree's) whole tree with one `git ls-tree -r -t` and keeps every tree in it.
 * Returns the root's entries, or null when the listing cannot be kept (too large, names that are not UTF-8).
 */
async function listDeep(store: Store, repo: string, treeish: string): Promise<TreeEntry[] | null> {
  const { stdout } = await runGit(repo, ["ls-tree", "-r", "-t", "-z", "--full-tree", treeish]);
  if (stdout.includes("\uFFFD")) return null;
  const records = stdout.split("\0").filter((record) => record !== "");
  if (records.length > MAX_LISTED_ENTRIES) return null;
  // Records come in tree order, a directory before what it holds: "<mode> <type> <oid>\t<path>".
  const byDirectory = new Map<string, TreeEntry[]>([["", []]]);
  const treeOids = new Map<string, string>();
  for (const record of records) {
    const tab = record.indexOf("\t");
    const [mode, type, oid] = record.slice(0, tab).split(" ");
    const path = record.slice(tab + 1);
    const slash = path.lastIndexOf("/");
    const directory = slash < 0 ? "" : path.slice(0, slash);
    const siblings = byDirectory.get(directory);
    if (!siblings || !mode || !oid || !FULL_OID.test(oid)) return null;
    const entry = { mode: type === "tree" ? TREE_MODE : mode, name: path.slice(slash + 1), oid };
    siblings.push(entry);
    if (type === "tree") {
      byDirectory.set(path, []);
      treeOids.set(path, oid);
    }
  }
  for (const [path, oid] of treeOids) remember(store, oid, byDirectory.get(path)!);
  return byDirectory.get("")!;
}

async function treeEntries(store: Store, repo: string, oid: string): Promise<TreeEntry[] | null> {
  const cached = store.trees.get(oid);
  if (cached) return cached;
  const entries = await listDeep(store, repo, oid);
  if (entries) remember(store, oid, entries);
  return entries;
}

async function commitRoot(store: Store, repo: string, commit: string): Promise<{ tree: string | null; entries: TreeEntry[] } | null> {
  const cached = store.commits.get(commit);
  if (cached) return cached;
  const entries = await listDeep(store, repo, commit);
  if (!entries) return null;
  const root = { tree: null, entries };
  rememberCommit(store, commit, root);
  return root;
}

type Changes = Map<string, string | Changes>;

/** A tree like `entries` with `changes` (name → new content, or → changes below a directory) written in. */
async function rebuild(store: Store, repo: string, entries: readonly TreeEntry[], changes: Changes): Promise<string | null> {
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  for (const [name, change] of changes) {
    const existing = byName.get(name);
    if (typeof change === "string") {
      if (existing?.mode === TREE_MODE) return null; // a file where a directory was: left to git
      const oid = writeObject(store, "blob", Buffer.from(change));
      rememberBlob(store, oid, change);
      byName.set(name, { mode: existing?.mode === "100755" ? "100755" : "100644", name, oid });
    } else {
      if (existing && existing.mode !== TREE_MODE) return null; // a directory where a file was: left to git
      const below = existing ? await treeEntries(store, repo, existing.oid) : [];
      if (!below) return null;
      const oid = await rebuild(store, repo, below, change);
      if (!oid) return null;
      byName.set(name, { mode: TREE_MODE, name, oid });
    }
  }
  return writeTree(store, [...byName.values()]);
}

function changesOf(files: Record<string, string>): Changes | null {
  const root: Changes = new Map();
  for (const [path, content] of Object.entries(files)) {
    const components = path.split("/");
    if (!components.every((component) => PLAIN_COMPONENT.test(component))) return null;
    let level = root;
    for (const component of components.slice(0, -1)) {
      let next = level.get(component);
      if (typeof next === "string") return null;
      if (!next) {
        next = new Map();
        level.set(component, next);
      }
      level = next;
    }
    if (level.has(components.at(-1)!)) return null;
    level.set(components.at(-1)!, content);
  }
  return root;
}

function signature(identity: { name: string; email: string }, at: Date): string {
  const offset = -at.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const minutes = String(Math.abs(offset) % 60).padStart(2, "0");
  return `${identity.name} <${identity.email}> ${Math.floor(at.getTime() / 1000)} ${sign}${hours}${minutes}`;
}

/**
 * The commit of `parent` with `files` written in, made here without git, or null when this code does
 * not write objects for this repository or these paths (the caller then uses git). Same result as
 * git's read-tree/update-index/write-tree/commit-tree: a file keeps its mode, new files are 100644.
 */
export async function writeCommitOnParent(
  repo: string, parent: string, files: Record<string, string>, message: string, identity: { name: string; email: string },
): Promise<{ commit: string; tree: string } | null> {
  if (!FULL_OID.test(parent) || message.includes("\0")) return null;
  const changes = changesOf(files);
  const store = changes && (await storeFor(repo));
  if (!changes || !store) return null;
  const root = await commitRoot(store, repo, parent);
  if (!root) return null;
  const tree = changes.size > 0 ? await rebuild(store, repo, root.entries, changes) : root.tree;
  if (!tree) return null;
  const person = signature(identity, new Date());
  // As commit-tree -m writes it: the message with its last line ended.
  const body = `tree ${tree}\nparent ${parent}\nauthor ${person}\ncommitter ${person}\n\n${message === "" || message.endsWith("\n") ? message : `${message}\n`}`;
  const commit = writeObject(store, "commit", Buffer.from(body));
  rememberCommit(store, commit, { tree, entries: store.trees.get(tree) ?? root.entries });
  return { commit, tree };
}

/**
 * Every file path in `commit` (as `git ls-tree -r --name-only` lists them), from kept trees (the first
 * listing in a repository opens its store: the session's start, or a job's); null when git must be asked.
 */
export async function cachedFilesAt(repo: string, commit: string): Promise<string[] | null> {
  const files = await cachedTreeFiles(repo, commit);
  return files ? [...files.keys()] : null;
}

/**
 * Every file of `commit` with its mode and blob id, in tree order, from kept trees (listing what is not
 * kept yet); null when git must be asked.
 */
export async function cachedTreeFiles(repo: string, commit: string): Promise<Map<string, { mode: string; oid: string }> | null> {
  const store = FULL_OID.test(commit) ? await storeFor(repo) : null;
  if (!store) return null;
  const root = await commitRoot(store, repo, commit);
  if (!root) return null;
  const files = new Map<string, { mode: string; oid: string }>();
  const walk = async (entries: readonly TreeEntry[], prefix: string): Promise<boolean> => {
    for (const entry of entries) {
      if (entry.mode !== TREE_MODE) {
        files.set(prefix + entry.name, { mode: entry.mode, oid: entry.oid });
        continue;
      }
      const below = await treeEntries(store, repo, entry.oid);
      if (!below || !(await walk(below, `${prefix}${entry.name}/`))) return false;
    }
    return true;
  };
  return (await walk(root.entries, "")) ? files : null;
}

/** A blob's text if this process wrote or read it (and still keeps it), else undefined. */
export function cachedBlob(repo: string, oid: string): string | undefined {
  return opened.get(resolve(repo))?.blobs.get(oid);
}

/**
 * A file's content at a commit this process already knows the tree of: the text, null when the path
 * names no file there, or undefined when git must be asked (an unknown commit, an unusual path).
 */
export async function cachedFileAt(repo: string, commit: string, path: string): Promise<string | null | undefined> {
  const entry = await cachedEntryAt(repo, commit, path, { directoriesAsAbsent: true });
  return entry === undefined || entry === null ? entry : entry.content;
}

/**
 * A path's entry at a commit whose tree this process knows: its mode, blob id and text; null when nothing
 * is there; undefined when git must be asked — an unknown commit or tree, an unusual path, or (unless
 * `directoriesAsAbsent`) a directory, a submodule or a file on the way where a file was looked for.
 */
export async function cachedEntryAt(
  repo: string, commit: string, path: string, options: { directoriesAsAbsent?: boolean } = {},
): Promise<{ mode: string; oid: string; content: string } | null | undefined> {
  if (!FULL_OID.test(commit)) return undefined;
  const components = path.split("/");
  if (!components.every((component) => PLAIN_COMPONENT.test(component))) return undefined;
  const store = opened.get(resolve(repo));
  const root = store?.commits.get(commit);
  if (!store || !root) return undefined;
  const other = options.directoriesAsAbsent ? null : undefined;
  let entries: readonly TreeEntry[] = root.entries;
  for (const [index, component] of components.entries()) {
    const entry = entries.find((each) => each.name === component);
    if (!entry) return null;
    if (index === components.length - 1) {
      if (entry.mode === TREE_MODE || entry.mode === "160000") return other;
      const known = store.blobs.get(entry.oid);
      if (known !== undefined) return { mode: entry.mode, oid: entry.oid, content: known };
      const { stdout } = await runGit(repo, ["cat-file", "blob", entry.oid]);
      rememberBlob(store, entry.oid, stdout);
      return { mode: entry.mode, oid: entry.oid, content: stdout };
    }
    if (entry.mode !== TREE_MODE) return other;
    const below = store.trees.get(entry.oid);
    if (!below) return undefined;
    entries = below;
  }
  return null;
}
