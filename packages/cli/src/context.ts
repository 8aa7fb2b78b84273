/**
 * What a command may touch of the outside world. bin.ts passes the real process; unit tests pass
 * their own env and capture the output, so commands never read `process` directly.
 */
export interface CliContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where $HOME/.slime.yaml is looked for. */
  readonly home: string;
  /**
   * Writes to stdout (text includes its own newline). Logs go through it too; once the reader
   * is gone (EPIPE: `| head`, a dead log shipper) it drops the text instead of failing.
   */
  readonly stdout: (text: string) => void;
  /** Writes to stderr (text includes its own newline). */
  readonly stderr: (text: string) => void;
  /** Ends the process; long-running commands call it after draining. */
  readonly exit: (code: number) => void;
  /** Whether stdout is a terminal: logs are then readable lines instead of JSON. Default false. */
  readonly stdoutIsTTY?: boolean;
  /**
   * The V8 flag bin.ts set for this process (heap-tuning.ts); null when node's command line chose
   * a growing factor of its own; absent where no real process is bound.
   */
  readonly heapTuning?: string | null;
}
