/**
 * The pod-name rule, without zod, so the CLI can check a name before it loads anything heavy:
 * 1-64 characters of `[A-Za-z0-9._-]`, not `.` or `..` (behaviour.md: names are checked
 * before anything is created). `PodName` in pod-event.ts is the zod form of the same rule.
 */
export const POD_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Why `name` is not a valid pod name, or undefined when it is. */
export function podNameProblem(name: string): string | undefined {
  if (name.length === 0) return "pod name cannot be empty";
  if (name.length > 64) return "pod name has at most 64 characters";
  if (!POD_NAME_PATTERN.test(name)) return "pod names use only A-Z a-z 0-9 . _ -";
  if (name === "." || name === "..") return "pod name cannot be . or ..";
  return undefined;
}

/**
 * Why `name` cannot be the name of a new pod, or undefined when it can: the wire rule above,
 * and a first character that is a letter, digit or `_`. A leading `-` reads as an option on a
 * command line and a leading `.` makes a hidden (or `.`/`..`) directory, so podd never creates
 * such a pod; a peer's reports naming one are still decoded (PodName keeps the wire rule).
 */
export function newPodNameProblem(name: string): string | undefined {
  const problem = podNameProblem(name);
  if (problem) return problem;
  if (name.startsWith("-")) return "pod name cannot start with - (it would read as an option)";
  if (name.startsWith(".")) return "pod name cannot start with . (it would be a hidden directory)";
  return undefined;
}
