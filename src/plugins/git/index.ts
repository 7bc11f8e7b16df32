/** The git workspace plugin: hardened host git, the mirror cache and per-card worktrees. */
export * from './errors';
export { OUIJA_IDENTITY, HARDENED_CONFIG, hardenedGit, gitTest, revParse, assertSafeBranch, assertSafeBaseBranch, assertSha, gitConfigEnv, githubHttpAuth } from './hardened-git';
export type { HardenedGitOptions } from './hardened-git';
export { dangerousConfigKeys, assertSafeRepositoryConfig } from './config-guard';
export { parseRemote } from './remotes';
export type { Remote } from './remotes';
export { Mirror, MirrorCache } from './mirrors';
export { KeyedMutex } from './keyed-mutex';
export { createWorkspaces } from './worktrees';
export type { PrepareInput, PushInput, SecretGitConfig, Workspaces } from './worktrees';
