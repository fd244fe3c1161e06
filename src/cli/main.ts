/**
 * `podd`: the command-line client. Every command is a pure client of a pod's socket (through
 * src/client/) or of the runtime dir's status files; `podd start` launches the pod process.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { CliError } from "./cli-error.js";

// Command modules are loaded when their command runs, so `podd start` does not load the
// protocol schemas (zod) or the socket client it never uses (start-up time is a target).
const start = () => import("./start.js");
const talk = () => import("./talk.js");
const inspect = () => import("./inspect.js");
const rewind = () => import("./rewind.js");

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError("expected a positive whole number");
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
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nEnvironment:\n  PODD_HOME          state, logs and config.json (default ~/.podd)\n  PODD_RUNTIME_DIR   pod sockets (default $XDG_RUNTIME_DIR/podd, else $PODD_HOME/run)\n  ANTHROPIC_API_KEY  key for --model anthropic:<model>\n  OPENAI_API_KEY     key for --model openai:<model> (optional for openai-compatible)\n  OPENAI_BASE_URL    default --base-url for openai-compatible\n",
    );

  program
    .command("start")
    .description("start a pod (daemonised; prints its name, pid and socket once it accepts connections)")
    .argument("[name]", "pod name, [A-Za-z0-9._-] (default: the cwd's base name)")
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
    .option("--no-bash", "do not give the pod the bash tool (bash is not confined by the path scope)")
    .option("--allow-tool <rule>", "allow calls matching <tool>[:<glob>] (e.g. 'bash:git *'); rules are checked in order, first match wins", collectToolRule("allow"))
    .option("--deny-tool <rule>", "deny calls matching <tool>[:<glob>] (e.g. 'bash:rm *'); the model reads 'permission denied'", collectToolRule("deny"))
    .option("--cwd <dir>", "the pod's working directory (default: this directory)")
    .option("--parent <socket>", "parent pod socket to report turn_ended / errored / shut_down to")
    .option("--max-turns <n>", "most model calls per run before run_end{limit_reached} (default 50)", positiveInt)
    .option("--foreground", "stay attached to this terminal until the pod stops")
    .option("--json", "print {name, pid, socket} as JSON")
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
Keys are read from the environment and handed to the pod through its environment only.`,
    )
    .action(async (name: string | undefined, options) => (await start()).startCommand(name, { ...options, toolRules }));

  program
    .command("send")
    .description("send a user turn and stream the answer until the run ends (exit 0 finished, 3 paused, 4 rolled back, 1 error)")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .argument("<text...>", "the message")
    .option("--json", "print every event line, raw")
    .action(async (target: string, words: string[], options: { json?: boolean }) => (await talk()).sendCommand(target, words, options));

  program
    .command("notify")
    .description("queue a notification for the pod's model; wakes an idle pod unless --no-wake")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .argument("<text...>", "the notification")
    .option("--no-wake", "only queue it for the next model request")
    .action(async (target: string, words: string[], options: { wake: boolean }) => (await talk()).notifyCommand(target, words, options));

  for (const [name, description] of [
    ["pause", "pause the running turn (resumable); prints the new status"],
    ["resume", "resume a paused turn"],
    ["cancel", "cancel the running turn; prints the new status"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument("<pod>", POD_ARGUMENT_HELP)
      .action(async (target: string) => (await talk()).controlCommand(target, name));
  }

  program
    .command("stop")
    .description("shut a pod down and wait for its process to exit")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .option("--timeout <ms>", "how long to wait for the process to exit", positiveInt, 10_000)
    .action(async (target: string, options: { timeout: number }) => (await talk()).stopCommand(target, { timeoutMs: options.timeout }));

  program
    .command("rewind")
    .description("list a pod's rewind targets (its user inputs, numbered); with <n>, rewind to target n and print its input for editing")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .argument("[n]", "the target to rewind to, as numbered by `podd rewind <pod>`", positiveInt)
    .option("--json", "machine-readable output")
    .action(async (target: string, n: number | undefined, options: { json?: boolean }) => (await rewind()).rewindCommand(target, n, options));

  program
    .command("status")
    .description("a pod's state, model, scope and context use (without a pod: like ls)")
    .argument("[pod]", "pod name")
    .option("--json", "machine-readable output")
    .action(async (name: string | undefined, options: { json?: boolean }) => (await inspect()).statusCommand(name, options));

  program.command("ls").description("list pods: name, status, pid, age, model, socket").option("--json", "machine-readable output").action(async (options: { json?: boolean }) => (await inspect()).lsCommand(options));

  program
    .command("attach")
    .description("attach to a pod; --json bridges stdin/stdout to the socket as raw JSON lines")
    .argument("<pod>", POD_ARGUMENT_HELP)
    .option("--json", "raw JSON-lines bridge for scripts")
    .addOption(new Option("--until <event>", "with --json: exit after the first event of this name (e.g. run_end)"))
    .action(async (target: string, options: { json?: boolean; until?: string }) => {
      if (!options.json) throw new CliError("the terminal UI is not in this build yet; use `podd attach <pod> --json`", 2);
      await (await talk()).attachJsonCommand(target, options);
    });

  program
    .command("logs")
    .description("print a pod's log (pino JSON lines)")
    .argument("<name>", "pod name")
    .option("-f, --follow", "keep printing new lines")
    .option("-n, --lines <n>", "only the last n lines", positiveInt)
    .action(async (name: string, options: { follow?: boolean; lines?: number }) => (await talk()).logsCommand(name, options));

  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  const exitCode = error instanceof CliError ? error.exitCode : 1;
  process.stderr.write(`podd: ${error instanceof Error ? error.message : String(error)}\n`);
  // A refused request can leave a socket open; nothing else is pending once a command failed.
  process.exit(exitCode);
}
