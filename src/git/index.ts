// Git as thin verbs: each takes an explicit cwd, runs git without a shell, returns data,
// and throws GitError (naming the command and git's own words) on failure.
export { GitError, RefConflictError, runGit, type GitOptions, type GitResult } from "./exec.ts";
export {
  branchExists,
  changedPaths,
  currentBranch,
  diff,
  diffWithChanges,
  gitCommonDir,
  headCommit,
  isAncestor,
  isClean,
  isGitRepo,
  listFilesAt,
  listRefs,
  readFileAt,
  repoRoot,
  revParse,
  treeOf,
  uncommittedPaths,
  type ChangedPath,
  type ChangeStatus,
  type RefEntry,
} from "./query.ts";
export { createBranch, deleteRef, readBranchRef, switchToNewBranch, updateRef, writeLooseRef } from "./refs.ts";
export { addWorktree, listWorktrees, pruneWorktrees, removeWorktree, resetWorktree, type WorktreeEntry } from "./worktree.ts";
export { commitAll, commitFiles, commitInitial, commitPaths, initRepo, HARNESS_EMAIL, HARNESS_NAME } from "./commit.ts";
export { withRepositoryLock } from "./lock.ts";
export { extractCommit } from "./archive.ts";
export { candidateDiff } from "./patch.ts";
