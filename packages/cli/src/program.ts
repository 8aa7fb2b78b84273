import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { COMMAND_TREE, type CommandGroup, type LeafCommand } from './command-tree.js';
import { loadConfigFile } from './config-file.js';
import type { CliContext } from './context.js';
import { ALL_OPTIONS, CONFIG_OPTION } from './option-specs.js';
import { envNames, normalizeArgv, type OptionSpec, Settings } from './settings.js';
import { ExitCode, UsageError } from './usage-error.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function helpLine(spec: OptionSpec): string {
  const notes: string[] = [];
  const env = envNames(spec);
  if (env.length > 0) notes.push(`env ${env.join(', ')}`);
  if (spec.defaultText !== undefined) notes.push(`default ${spec.defaultText}`);
  if (spec.goFlag !== undefined) notes.push(`also --${spec.goFlag}`);
  return notes.length > 0 ? `${spec.description} (${notes.join('; ')})` : spec.description;
}

function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

function leaf(parent: Command, spec: LeafCommand, ctx: CliContext): void {
  const cmd = parent.command(spec.name).description(spec.description);
  for (const option of spec.options)
    cmd.addOption(new Option(`--${option.flag} ${option.arg ?? ''}`.trim(), helpLine(option)));
  cmd.addHelpText('after', examples(spec.examples));
  cmd.action(async (_opts: unknown, self: Command) => {
    const globals = self.optsWithGlobals<{ config?: string }>();
    const config = loadConfigFile(
      globals.config,
      ALL_OPTIONS.map((s) => s.flag),
      ctx.home,
    );
    const sources = { flags: self.opts(), env: ctx.env, ...(config ? { config } : {}) };
    const settings = new Settings(spec.options, sources);
    await spec.action(settings, ctx);
    // Said once the command has started (a bad value is the one line an error prints).
    for (const warning of settings.warnings()) ctx.stderr(`slime: warning: ${warning}\n`);
  });
}

function group(parent: Command, spec: CommandGroup, ctx: CliContext): void {
  const cmd = parent.command(spec.name).description(spec.description);
  addCommands(cmd, spec, ctx);
}

function addCommands(cmd: Command, spec: CommandGroup, ctx: CliContext): void {
  for (const child of spec.commands) {
    if ('action' in child) leaf(cmd, child, ctx);
    else group(cmd, child, ctx);
  }
  if (spec.examples) cmd.addHelpText('after', examples(spec.examples));
}

/** Builds the `slime` command tree. Exported for tests and for docs generation. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command(COMMAND_TREE.name)
    .description(COMMAND_TREE.description)
    .version(version(), '-v, --version')
    .addOption(new Option(`--${CONFIG_OPTION.flag} ${CONFIG_OPTION.arg}`, helpLine(CONFIG_OPTION)))
    .exitOverride()
    .configureOutput({
      writeOut: ctx.stdout,
      writeErr: ctx.stderr,
      // main() prints command errors itself as a single line
      outputError: () => {},
    })
    .configureHelp({ showGlobalOptions: true });
  addCommands(program, COMMAND_TREE, ctx);
  return program;
}

/** Turns commander's message (`error: unknown option '--x'\n(Did you mean --y?)`) into one line. */
function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/**
 * Runs the CLI. Resolves with the exit code for commands that finish (register, help, errors);
 * long-running commands resolve with 0 once started and later call `ctx.exit` themselves.
 */
export async function main(args: readonly string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(normalizeArgv(args, ALL_OPTIONS), { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return ExitCode.OK;
      // `slime hub` without a subcommand: commander already printed the help
      if (err.code === 'commander.help') return ExitCode.USAGE;
      ctx.stderr(`slime: ${oneLine(err.message)}\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof UsageError) {
      const details = err.details.map((d) => `  - ${oneLine(d)}\n`).join('');
      ctx.stderr(`slime: ${oneLine(err.message)}\n${details}`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    ctx.stderr(`slime: unexpected error: ${oneLine(message)}\n`);
    return ExitCode.FAILURE;
  }
}
