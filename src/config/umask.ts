/**
 * The file-creation mask of podd's processes. The pod process and the CLI run with umask 077
 * (`usePrivateUmask`, called first thing in src/daemon-main.ts and src/cli/main.ts), so every
 * file and directory they create — their own with an explicit 0600 / 0700, and whatever a
 * library creates without a mode (temp files, lock dirs) — is private to the user, whatever
 * umask the shell had. The user's own umask is remembered (`userUmask`) for what podd creates
 * *for the user*: the files and directories of the model's write_file and the processes of its
 * bash tool (src/tools/). It travels to podd processes started from here in `PODD_USER_UMASK`
 * (octal), since their inherited umask is already 077.
 *
 * Owns the process umask and that variable; creates nothing.
 */

/** The mask podd creates its own files under: no group or other permission bits. */
export const PRIVATE_UMASK = 0o077;

/** Environment variable that hands the user's umask (octal, e.g. `022`) to podd processes started by a podd process. */
export const USER_UMASK_ENV = "PODD_USER_UMASK";

let rememberedUserUmask: number | undefined;

/** `022` for 0o022: the form `umask` and PODD_USER_UMASK take. */
export function formatUmask(mask: number): string {
  return mask.toString(8).padStart(3, "0");
}

/** An octal umask (`022`, `0022`), or undefined for anything else. */
export function parseUmask(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-7]{1,4}$/.test(text)) return undefined;
  const mask = Number.parseInt(text, 8);
  return mask <= 0o777 ? mask : undefined;
}

/**
 * Set this process's umask to PRIVATE_UMASK and remember the user's: `PODD_USER_UMASK` when a
 * podd process started this one, else the umask this process was started with. Publishes it in
 * `env` (process.env), so processes started from here inherit it. Returns the user's umask.
 */
export function usePrivateUmask(env: NodeJS.ProcessEnv = process.env): number {
  const inherited = process.umask(PRIVATE_UMASK);
  const user = parseUmask(env[USER_UMASK_ENV]) ?? inherited;
  env[USER_UMASK_ENV] = formatUmask(user);
  rememberedUserUmask = user;
  return user;
}

/**
 * The user's umask when this process switched to the private one (usePrivateUmask), else
 * undefined: the process umask is the user's own and nothing needs restoring (unit tests,
 * tools run in-process).
 */
export function userUmask(): number | undefined {
  return rememberedUserUmask;
}
