/** Limits shared by the bash tool and its process runner (kept apart so the runner can load lazily). */
/** After SIGTERM, how long the group may take to exit before SIGKILL, ms. */
export const BASH_KILL_GRACE_MS = 2_000;
