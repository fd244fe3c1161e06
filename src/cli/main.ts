/**
 * `podd`: the command-line client. Every command is a pure client of a pod's socket (through
 * src/client/) or of the runtime dir's status files; `podd start` launches the pod process.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CliError } from "./cli-error.js";
import { usePrivateUmask } from "../config/umask.js";
import type { ExportFormat } from "./sessions.js";

// Command modules are loaded when their command runs, so `podd start` does not load the
// protocol schemas (zod) or the socket client it never uses (start-up time is a target).
const start = () => import("./start.js");
const talk = () => import("./talk.js");
const inspect = () => import("./inspect.js");
const rewind = () => import("./rewind.js");
const compact = () => import("./compact.js");
const attach = () => import("./attach.js");
const sessions = () => import("./sessions.js");
const rm = () => import("./rm.js");
const logs = () => import("./logs.js");

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError("expected a positive whole number");
  return number;
}

function fraction(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < 0 || number > 1) throw new InvalidArgumentError("expected a number from 0 to 1");
  return number;
}

const POD_ARGUMENT_HELP = "pod name (or a path to a pod's socket)";

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** --allow-tool / --deny-tool share one ordered list (first match wins). */
const toolRules: { action: "allow" | "deny"; rule: string }[] = [];
function collectToolRule(action: "allow" | "deny") {
  return (rule: string): { action: "allow" | "deny"; rule: string }[] => {
    toolRules.push({ action, rule });
    return toolRules;
  };
}

export function buildProgram(): Command {
  const program = new Command("podd")
    .description("podd: a Unix-socket pod daemon for LLM agents")
    .version("0.1.0")
    // Usage errors (unknown command or option, missing or bad argument) exit 2, not commander's 1: see the catch below.
    .exitOverride()
    .showHelpAfterError()
    .addHelpText(
      "after",
      `
Environment:
  PODD_HOME                  state, logs and config.json (default ~/.podd)
  PODD_RUNTIME_DIR           pod sockets (default $XDG_RUNTIME_DIR/podd, else $PODD_HOME/run)
  XDG_RUNTIME_DIR            see PODD_RUNTIME_DIR
  PODD_LOG_LEVEL             level of the pods' logs (default info)
  ANTHROPIC_API_KEY          key for --model anthropic:<model>
  OPENAI_API_KEY             key for --model openai:<model> (never sent to an openai-compatible server)
  OPENAI_COMPATIBLE_API_KEY  key for --model openai-compatible:<model> (optional: local servers need none)
  OPENAI_BASE_URL            default --base-url for openai-compatible
A profile's api_key_env names another key variable. Keys are handed to the pod on a pipe, never in its environment.

Exit codes: 0 ok, 1 failed or pod unreachable, 2 usage or validation error; podd send also 3-6 (README.md, "Exit codes").
`,
    );

  program
    .command("start")
    .description("start a pod (daemonised; prints its name, pid and socket once it accepts connections)")
    .argument("[name]", "pod name: 1-64 of [A-Za-z0-9._-], not starting with - or . (default: the cwd's base name)")
    .option(
      "--model <spec>",
      "scripted (embedded demo; the default) | scripted:<scenario.json> | anthropic:<model> | openai:<model> | openai-compatible:<model> | <profile>",
    )
    .option("--new", "start a new session even if this pod has one (by default a pod's session is restored)")
    .option("--base-url <url>", "API base URL (an OpenAI-compatible server such as Ollama, vLLM or llama.cpp, or a proxy)")
    .option("--allow-read <dir>", "also let the pod's file tools read DIR (repeatable; the cwd is always read+write)", collect, [])
    .option("--allow-write <dir>", "also let the pod's file tools read and write DIR (repeatable)", collect, [])
    .option("--deny-read <dir>", "no access at all to DIR, even inside an allowed dir (repeatable)", collect, [])
    .option("--deny-write <dir>", "read-only access to DIR, even inside a writable dir (repeatable)", collect, [])
    .option("--clear-scope", "drop the saved --allow-*/--deny-* rules (scope flags given too then apply)")
    .option("--bash", "give the pod the bash tool (the default; undoes a saved --no-bash)")
    .option("--no-bash", "do not give the pod the bash tool (bash is not confined by the path scope)")
    .option("--allow-tool <rule>", "allow calls matching <tool>[:<glob>] (e.g. 'bash:git *'); rules are checked in order, first match wins", collectToolRule("allow"))
    .option("--deny-tool <rule>", "deny calls matching <tool>[:<glob>] (e.g. 'bash:rm *'); the model reads 'permission denied'", collectToolRule("deny"))
    .option("--clear-tool-rules", "drop the saved --allow-tool/--deny-tool rules (rules given too then apply)")
    .option("--instructions <file|text>", "add to the system prompt: the contents of FILE if it exists, else the text itself (at most 64 KiB; saved)")
    .option("--no-instructions", "drop the saved --instructions (as does --instructions '')")
    .option("--cwd <dir>", "the pod's working directory (default: this directory)")
    .option("--parent <socket>", "parent pod socket to report turn_ended / errored / shut_down to")
    .option("--max-turns <n>", "most model calls per run before run_end{limit_reached} (default 50)", positiveInt)
    .option("--compact-at <fraction>", "compact the session before a run once the context passes this share of the model's window (default 0.8; 0: never)", fraction)
    .option("--compact-timeout <ms>", "time limit of a compaction's summary call (default 120000)", positiveInt)
    .option("--mcp <name=cmd|url>", "also take tools from this MCP server: a command line (stdio) or an http(s) URL (Streamable HTTP); repeatable; see also config.json and .podd/mcp.json", collect, [])
    .option("--no-mcp", "start no MCP server, whatever config.json and .podd/mcp.json say")
    .option("--foreground", "stay attached to this terminal until the pod stops")
    .option("--json", "print {name, pid, socket, session: {id, restored, entries, last_active_ms}, cwd, model: {spec, provider, model}, agents_md?, instructions?} as JSON")
    .addHelpText(
      "after",
      `
Models:
  podd start mypod                                   the embedded scripted model (no key, no network)
  ANTHROPIC_API_KEY=… podd start mypod --model anthropic:claude-sonnet-4-5
  OPENAI_API_KEY=… podd start mypod --model openai:gpt-4.1
  podd start mypod --model openai-compatible:llama3.1 --base-url http://127.0.0.1:11434/v1   (Ollama; no key needed)
  podd start mypod --model fast                      a profile from $PODD_HOME/config.json:
    {"profiles": {"fast": {"model": "anthropic:claude-haiku-4-5", "max_tokens": 4096, "temperature": 0.2,
                           "thinking_budget": 2048, "context_window": 200000, "base_url": "https://…"}}}
Keys are read from the environment of \`podd start\` and handed to the pod on a pipe (see \`podd --help\`).

Saved settings: a pod started again by name restores its session and its settings (model, cwd, scope,
bash, tool rules, max turns, compaction, instructions); a flag given again replaces the saved setting of its
kind (all scope flags are one setting, all tool rules another). Undo with --bash, --clear-scope,
--clear-tool-rules, --no-instructions; --new starts a new session with the defaults. \`podd status <pod>\` shows them.
Without a name, the pod is named after the cwd; if that pod belongs to another directory, podd start refuses
(exit 2). With a name, the pod reopens in its saved cwd; --cwd moves it to another one.
AGENTS.md in the pod's cwd is added to the system prompt at every start (at most 64 KiB).`,
    )
    // commander folds --no-mcp into `mcp: false` (the --mcp list otherwise).
    .action(async (name: string | undefined, options) =>
      (await start()).startCommand(name, { ...options, toolRules, mcp: Array.isArray(options.mcp) ? (options.mcp as string[]) : [], noMcp: options.mcp === false }),
    );

  program
    .command("fork")
    .description("start a new pod from another pod's session, at its head or at a rewind target; the source keeps working")
    .argument("<source>", "the pod whose session is copied (live or stopped)")
    .argument("<name>", "the new pod's name")
    .option("--at <n>", "fork at rewind target n (as numbered by `podd rewind <source>`): the session before that input's run", positiveInt)
    .option("--compact", "compact the copy before the new pod takes work (the source is not touched)")
    .option("--new", "replace the session of an existing pod called <name>")
    .option("--model <spec>", "the model (default: the source's)")
    .option("--base-url <url>", "API base URL (default: the source's)")
    .option("--cwd <dir>", "the working directory (default: the source's)")
    .option("--parent <socket>", "parent pod socket to report turn_ended / errored / shut_down to")
    .option("--max-turns <n>", "most model calls per run (default: the source's)", positiveInt)
    .option("--json", "print {name, pid, socket, session: {id, restored, entries, last_active_ms}, cwd, model: {spec, provider, model}, agents_md?, instructions?} as JSON")
    .addHelpText(
      "after",
      `
The fork's first segment records where it came from (segment_start.forked_from). Scope, tools, permissions and
instructions are the source's (the fork reads the AGENTS.md of its own cwd). Example:
  podd rewind main               list main's rewind targets
  podd fork main try-2 --at 3    a new pod from main's session before its third input`,
    )
    .action(async (source: string, name: string, options: { at?: number; compact?: boolean } & Record<string, unknown>) => {
      const { at, compact: compactFirst, ...rest } = options;
      await (await start()).startCommand(name, { ...rest, fork: { from: source, at, compact: compactFirst ?? false } });
    });

  program
    .command("compact")
    .description("summarise an idle pod's session into a new segment to free context (exit 1 if it fails; the session is then kept as it was)")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .option("--timeout <ms>", "how long to wait for the outcome", positiveInt, 300_000)
    .option("--json", "print {ok, new_segment_id | error} as JSON")
    .action(async (target: string, options: { json?: boolean; timeout: number }) => (await compact()).compactCommand(target, options));

  program
    .command("send")
    .description("send a user turn and stream the answer until the run ends (exit 0 finished, 1 failed, 3 paused, 4 rolled back, 5 cancelled, 6 limit reached)")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .argument("<text...>", "the message; `-` alone reads it from stdin")
    .option("--json", "print every event line of the run, raw")
    .option("--queue", "if the pod is busy, wait until its run ends and send then (default: exit 1, already_running)")
    .addHelpText(
      "after",
      "\nThe answer's text goes to stdout; tool calls, results, model retries and how the run ended to stderr.\nCtrl-C asks the pod to cancel the run (the output goes on to its end); a second Ctrl-C detaches and leaves it running.",
    )
    .action(async (target: string, words: string[], options: { json?: boolean; queue?: boolean }) => (await talk()).sendCommand(target, words, options));

  program
    .command("notify")
    .description("queue a notification for the pod's model; wakes an idle pod unless --no-wake")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .argument("<text...>", "the notification")
    .option("--no-wake", "only queue it for the next model request")
    .action(async (target: string, words: string[], options: { wake: boolean }) => (await talk()).notifyCommand(target, words, options));

  program
    .command("pause")
    .description("pause the running turn (resumable); prints the new status")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .action(async (target: string) => (await talk()).controlCommand(target, "pause"));

  program
    .command("resume")
    .description("resume a paused run and stream it until it ends, like send (same output and exit codes)")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .option("--json", "print every event line of the run, raw")
    .action(async (target: string, options: { json?: boolean }) => (await talk()).resumeCommand(target, options));

  program
    .command("cancel")
    .description("cancel the running or paused run (its open tool calls are closed); prints the new status")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .option("--tree", "also cancel the runs of the pod's descendants (the pod forwards the cancel: cancel{cascade:true})")
    .action(async (target: string, options: { tree?: boolean }) => (await talk()).controlCommand(target, "cancel", { cascade: options.tree ?? false }));

  program
    .command("stop")
    .description("shut a pod down and wait for its process to exit")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .option("--timeout <ms>", "how long to wait for each process to exit", positiveInt, 10_000)
    .option("--tree", "also stop the pod's descendants, deepest first (exit 1 naming any pod still running after --timeout)")
    .action(async (target: string, options: { timeout: number; tree?: boolean }) =>
      (await talk()).stopCommand(target, { timeoutMs: options.timeout, tree: options.tree ?? false }),
    );

  program
    .command("rewind")
    .description("list a pod's rewind targets (its user inputs, numbered); with <n>, rewind to target n and print its input for editing")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .argument("[n]", "the target to rewind to, as numbered by `podd rewind <pod>`", positiveInt)
    .option("--json", "machine-readable output")
    .action(async (target: string, n: number | undefined, options: { json?: boolean }) => (await rewind()).rewindCommand(target, n, options));

  program
    .command("status")
    .description("a running pod's state, model, scope, context use and saved settings (without a pod: like ls)")
    .argument("[pod]", "pod name")
    .option("--json", "machine-readable output")
    .action(async (name: string | undefined, options: { json?: boolean }) => (await inspect()).statusCommand(name, options));

  program
    .command("ls")
    .description("list pods: name, status, pid, age, model, socket")
    .option("--all", "also the stopped pods (a data dir under $PODD_HOME/pods, no process), and a LAST ACTIVITY column")
    .option("--tree", "children indented under their parent pod; a pod whose parent is not running is shown at the top level (with --all: under its stopped parent)")
    .option("--json", "machine-readable output (with --tree: the roots, each with its children nested)")
    .action(async (options: { json?: boolean; tree?: boolean; all?: boolean }) => (await inspect()).lsCommand(options));

  program
    .command("rm")
    .description("delete stopped pods: their data dir (metadata, inbox, logs, children), their sessions and a stale runtime dir")
    .argument("<pod...>", "pod names")
    .option("--keep-sessions", "keep the pods' sessions (still listed by `podd sessions`)")
    .addHelpText(
      "after",
      "\nRefused (exit 1, the other pods are still removed): a running pod (stop it first: podd stop <pod>), a stopped child\nof a running pod (stop its parent first), an unknown name. The pods must be stopped; nothing of a running pod is touched.",
    )
    .action(async (names: string[], options: { keepSessions?: boolean }) => (await rm()).rmCommand(names, options));

  program
    .command("attach")
    .description("attach the terminal UI to a pod (without a name: the running pod, or pick one); --json bridges stdin/stdout to the socket as raw JSON lines")
    .argument("[pod]", POD_ARGUMENT_HELP)
    .option("--socket <path>", "attach to the pod listening on this socket")
    .option("--json", "raw JSON-lines bridge for scripts (needs <pod> or --socket)")
    .addOption(
      new Option(
        "--until <event>",
        "with --json: exit after the first event of this name; run_end: at the end of a run however it ends (its run_end, or the error and status of a failed or cancelled run), with send's exit codes",
      ),
    )
    .addHelpText("after", "\nIn the terminal UI press ? for its keys and commands; Ctrl-D detaches (the pod keeps running).")
    .action(async (target: string | undefined, options: { json?: boolean; until?: string; socket?: string }) => {
      if (options.json) {
        const where = options.socket ?? target;
        if (!where) throw new CliError("podd attach --json needs a pod name or --socket", 2);
        return (await talk()).attachJsonCommand(where, options);
      }
      await (await attach()).attachTuiCommand(target, options);
    });

  program
    .command("logs")
    .description("print a pod's log, pretty-printed (one line per record: time, level, message, fields); --json: the raw pino JSON lines")
    .argument("<name>", "pod name (running or stopped)")
    .option("-f, --follow", "keep printing new lines until Ctrl-C")
    .option("-n, --lines <n>", "only the last n lines", positiveInt)
    .option("--json", "the raw pino JSON lines, as in the file")
    .action(async (name: string, options: { follow?: boolean; lines?: number; json?: boolean }) => (await logs()).logsCommand(name, options));

  program
    .command("sessions")
    .description("list the sessions on disk, newest first: pod, segments, entries, last activity, live/active, provenance")
    .option("--pod <name>", "only this pod's sessions")
    .option("--json", "machine-readable output")
    .action(async (options: { pod?: string; json?: boolean }) => (await sessions()).sessionsCommand(options));

  program
    .command("history")
    .description("print a pod's session as a transcript, read from its files (the pod may be running or stopped)")
    .argument("<name>", "pod name")
    .option("--session <id>", "one of the pod's other sessions (see `podd sessions`) instead of its current one")
    .option("--all", "every segment of the session, with the summary at each compaction (default: the active segment)")
    .option("--json", "the raw entries: {pod_name, session_id, segment_ids, entries, skipped_lines}")
    .action(async (name: string, options: { session?: string; all?: boolean; json?: boolean }) => (await sessions()).historyCommand(name, options));

  program
    .command("export")
    .description("export a pod's session, every segment in order: raw log entries (jsonl) or a Markdown document")
    .argument("<name>", "pod name")
    .addOption(new Option("--format <jsonl|markdown>", "output format (required)").choices(["jsonl", "markdown"] satisfies ExportFormat[]).makeOptionMandatory())
    .option("--session <id>", "one of the pod's other sessions (see `podd sessions`) instead of its current one")
    .option("--active", "only the active segment (since the last compaction)")
    .option("-o, --output <file>", "write to FILE (atomically, mode 0600) instead of stdout")
    .action(async (name: string, options: { format: ExportFormat; session?: string; active?: boolean; output?: string }) =>
      (await sessions()).exportCommand(name, options),
    );

  return program;
}

/** The exit code of a usage error (commander's own errors and `podd` alone); README "Exit codes". */
export const USAGE_EXIT_CODE = 2;

// Whatever the CLI creates (a pod's data dir, stderr.log, an export) is the user's alone; the
// user's umask goes on to the pods it starts for the model's files (src/config/umask.ts).
usePrivateUmask();
try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  // Commander has printed its message (and the help) already; --help and --version end here too, with 0.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : USAGE_EXIT_CODE);
  const exitCode = error instanceof CliError ? error.exitCode : 1;
  process.stderr.write(`podd: ${error instanceof Error ? error.message : String(error)}\n`);
  // A refused request can leave a socket open; nothing else is pending once a command failed.
  process.exit(exitCode);
}
