/** An error the CLI prints as `podd: <message>` and exits with `exitCode` (1 failure, 2 usage). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
