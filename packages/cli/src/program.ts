import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { runAgent } from './commands/agent-run.js';
import { runDemo } from './commands/demo.js';
import { addAppCommand, listAppsCommand, removeAppCommand, rotateAppCommand } from './commands/hub-app.js';
import { registerAgent } from './commands/hub-register.js';
import { revokeToken, unrevokeToken } from './commands/hub-revoke.js';
import { runHub } from './commands/hub-run.js';
import { hubStatus } from './commands/hub-status.js';
import { loadConfigFile } from './config-file.js';
import type { CliContext } from './context.js';
import {
  AGENT_RUN_OPTIONS,
  ALL_OPTIONS,
  CONFIG_OPTION,
  DEMO_OPTIONS,
  HUB_APP_OPTIONS,
  HUB_REGISTER_OPTIONS,
  HUB_REVOKE_OPTIONS,
  HUB_RUN_OPTIONS,
  HUB_STATUS_OPTIONS,
  HUB_UNREVOKE_OPTIONS,
} from './option-specs.js';
import { envNames, normalizeArgv, type OptionSpec, Settings } from './settings.js';
import { ExitCode, UsageError } from './usage-error.js';

type Action = (settings: Settings, ctx: CliContext) => Promise<void>;

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

function leaf(parent: Command, name: string, specs: readonly OptionSpec[], action: Action, ctx: CliContext) {
  const cmd = parent.command(name);
  for (const spec of specs)
    cmd.addOption(new Option(`--${spec.flag} ${spec.arg ?? ''}`.trim(), helpLine(spec)));
  cmd.action(async (_opts: unknown, self: Command) => {
    const globals = self.optsWithGlobals<{ config?: string }>();
    const config = loadConfigFile(
      globals.config,
      ALL_OPTIONS.map((s) => s.flag),
      ctx.home,
    );
    const sources = { flags: self.opts(), env: ctx.env, ...(config ? { config } : {}) };
    const settings = new Settings(specs, sources);
    await action(settings, ctx);
    // Said once the command has started (a bad value is the one line an error prints).
    for (const warning of settings.warnings()) ctx.stderr(`slime: warning: ${warning}\n`);
  });
  return cmd;
}

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Builds the `slime` command tree. Exported for tests and for docs generation. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('slime')
    .description('Slime: a hub-and-agent HTTP reverse proxy (drop-in for the Go Slime Proxy)')
    .version(version(), '-v, --version')
    .addOption(new Option(`--${CONFIG_OPTION.flag} ${CONFIG_OPTION.arg}`, helpLine(CONFIG_OPTION)))
    .exitOverride()
    .configureOutput({
      writeOut: ctx.stdout,
      writeErr: ctx.stderr,
      // main() prints command errors itself as a single line
      outputError: () => {},
    })
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      examples([
        'TOKEN=$(slime hub register --secret s3cret --name gpu-1)',
        'slime hub run --secret s3cret --port 8080',
        'slime agent run --token "$TOKEN" --hub http://hub:8080 --upstream 127.0.0.1:9000',
        'slime demo --port 0',
      ]),
    );

  const hub = program.command('hub').description('run the hub or mint agent tokens');
  leaf(hub, 'run', HUB_RUN_OPTIONS, runHub, ctx)
    .description('serve applications and agents on one port')
    .addHelpText(
      'after',
      examples([
        'slime hub run --secret s3cret',
        'SLIME_SECRET=s3cret SLIME_APP_PASSWORD=pw SLIME_PORT=9090 slime hub run',
        'slime hub run --secret s3cret --admin-token T --state-dir /var/lib/slime',
        'slime hub run --secret s3cret --concurrent 8 --block-timeout 30s --log-level debug',
      ]),
    );
  leaf(hub, 'register', HUB_REGISTER_OPTIONS, registerAgent, ctx)
    .description('mint an agent token and print only the token (works offline)')
    .addHelpText(
      'after',
      examples([
        'TOKEN=$(slime hub register --secret s3cret --name gpu-1)',
        'slime hub register --secret s3cret --name gpu-2 --age 30d --scopes llm --scopePaths /v1/chat',
      ]),
    );

  leaf(hub, 'revoke', HUB_REVOKE_OPTIONS, revokeToken, ctx)
    .description('revoke an agent token (by id) or every token of an agent; hubs drop it within 1 s')
    .addHelpText(
      'after',
      examples([
        'slime hub revoke --jti 3f6c0a9e-...',
        'slime hub revoke --agent gpu-1 --redis redis://redis:6379',
        'slime hub revoke --agent gpu-1 --state-dir /var/lib/slime',
        'slime hub revoke --list --state-dir /var/lib/slime',
      ]),
    );

  leaf(hub, 'unrevoke', HUB_UNREVOKE_OPTIONS, unrevokeToken, ctx)
    .description('take a token id or an agent name off the deny list')
    .addHelpText(
      'after',
      examples([
        'slime hub unrevoke --agent gpu-1 --state-dir /var/lib/slime',
        'slime hub unrevoke --jti 3f6c0a9e-... --redis redis://redis:6379',
      ]),
    );

  leaf(hub, 'status', HUB_STATUS_OPTIONS, hubStatus, ctx)
    .description("print the hub's agents table from its admin API")
    .addHelpText(
      'after',
      examples([
        'slime hub status --admin-token T',
        'slime hub status --admin http://10.0.0.5:8081 --admin-token T --json',
      ]),
    );

  const app = hub.command('app').description('manage applications: their keys, weights and priorities');
  leaf(app, 'add', HUB_APP_OPTIONS, addAppCommand, ctx)
    .description('declare an application and print its new key (shown once)')
    .addHelpText(
      'after',
      examples([
        'KEY=$(slime hub app add --name chat --weight 3 --max-priority high --admin-token T)',
        'slime hub app add --name batch --max-queue 100 --policy policy.yaml',
      ]),
    );
  leaf(app, 'list', HUB_APP_OPTIONS, listAppsCommand, ctx)
    .description('list applications with their key ids (never the keys)')
    .addHelpText(
      'after',
      examples(['slime hub app list --admin-token T', 'slime hub app list --policy policy.yaml --json']),
    );
  leaf(app, 'rotate', HUB_APP_OPTIONS, rotateAppCommand, ctx)
    .description('give an application a new key; old keys keep working for --overlap')
    .addHelpText(
      'after',
      examples([
        'slime hub app rotate --name chat --overlap 1h --admin-token T',
        'slime hub app rotate --name chat --overlap 0 --admin-token T',
      ]),
    );
  leaf(app, 'remove', HUB_APP_OPTIONS, removeAppCommand, ctx)
    .description('remove an application; its keys are refused on every hub at once')
    .addHelpText('after', examples(['slime hub app remove --name chat --admin-token T']));

  const agent = program.command('agent').description('run an agent next to an upstream');
  leaf(agent, 'run', AGENT_RUN_OPTIONS, runAgent, ctx)
    .description('dial the hub and serve its requests from the upstream(s)')
    .addHelpText(
      'after',
      examples([
        'slime agent run --token "$TOKEN" --hub http://hub:8080 --upstream 127.0.0.1:9000',
        'SLIME_TOKEN=... SLIME_HUB=wss://hub.example SLIME_UPSTREAM="a:9000 b:9000" slime agent run',
      ]),
    );

  leaf(program, 'demo', DEMO_OPTIONS, runDemo, ctx)
    .description('hub + agent + a demo upstream in one process, to try Slime out')
    .addHelpText('after', examples(['slime demo', 'slime demo --port 0']));

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
