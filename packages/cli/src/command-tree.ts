import { runAgent } from './commands/agent-run.js';
import { runDemo } from './commands/demo.js';
import { addAppCommand, listAppsCommand, removeAppCommand, rotateAppCommand } from './commands/hub-app.js';
import { registerAgent } from './commands/hub-register.js';
import { revokeToken, unrevokeToken } from './commands/hub-revoke.js';
import { runHub } from './commands/hub-run.js';
import { hubStatus } from './commands/hub-status.js';
import type { CliContext } from './context.js';
import {
  AGENT_RUN_OPTIONS,
  DEMO_OPTIONS,
  HUB_APP_OPTIONS,
  HUB_REGISTER_OPTIONS,
  HUB_REVOKE_OPTIONS,
  HUB_RUN_OPTIONS,
  HUB_STATUS_OPTIONS,
  HUB_UNREVOKE_OPTIONS,
} from './option-specs.js';
import type { OptionSpec, Settings } from './settings.js';

/** A command that runs something (as opposed to a group such as `hub`). */
export interface LeafCommand {
  name: string;
  description: string;
  options: readonly OptionSpec[];
  action: (settings: Settings, ctx: CliContext) => Promise<void>;
  /** Command lines shown under "Examples:" in its help. */
  examples: readonly string[];
}

/** A group of commands (`slime hub`, `slime hub app`...), listed in its help in this order. */
export interface CommandGroup {
  name: string;
  description: string;
  commands: readonly (LeafCommand | CommandGroup)[];
  examples?: readonly string[];
}

const APP_GROUP: CommandGroup = {
  name: 'app',
  description: 'manage applications: their keys, weights and priorities',
  commands: [
    {
      name: 'add',
      description: 'declare an application and print its new key (shown once)',
      options: HUB_APP_OPTIONS,
      action: addAppCommand,
      examples: [
        'KEY=$(slime hub app add --name chat --weight 3 --max-priority high --admin-token T)',
        'slime hub app add --name batch --max-queue 100 --policy policy.yaml',
      ],
    },
    {
      name: 'list',
      description: 'list applications with their key ids (never the keys)',
      options: HUB_APP_OPTIONS,
      action: listAppsCommand,
      examples: ['slime hub app list --admin-token T', 'slime hub app list --policy policy.yaml --json'],
    },
    {
      name: 'rotate',
      description: 'give an application a new key; old keys keep working for --overlap',
      options: HUB_APP_OPTIONS,
      action: rotateAppCommand,
      examples: [
        'slime hub app rotate --name chat --overlap 1h --admin-token T',
        'slime hub app rotate --name chat --overlap 0 --admin-token T',
      ],
    },
    {
      name: 'remove',
      description: 'remove an application; its keys are refused on every hub at once',
      options: HUB_APP_OPTIONS,
      action: removeAppCommand,
      examples: ['slime hub app remove --name chat --admin-token T'],
    },
  ],
};

const HUB_GROUP: CommandGroup = {
  name: 'hub',
  description: 'run the hub or mint agent tokens',
  commands: [
    {
      name: 'run',
      description: 'serve applications and agents on one port',
      options: HUB_RUN_OPTIONS,
      action: runHub,
      examples: [
        'slime hub run --secret s3cret',
        'SLIME_SECRET=s3cret SLIME_APP_PASSWORD=pw SLIME_PORT=9090 slime hub run',
        'slime hub run --secret s3cret --admin-token T --state-dir /var/lib/slime',
        'slime hub run --secret s3cret --concurrent 8 --block-timeout 30s --log-level debug',
      ],
    },
    {
      name: 'register',
      description: 'mint an agent token and print only the token (works offline)',
      options: HUB_REGISTER_OPTIONS,
      action: registerAgent,
      examples: [
        'TOKEN=$(slime hub register --secret s3cret --name gpu-1)',
        'slime hub register --secret s3cret --name gpu-2 --age 30d --scopes llm --scopePaths /v1/chat',
      ],
    },
    {
      name: 'revoke',
      description: 'revoke an agent token (by id) or every token of an agent; hubs drop it within 1 s',
      options: HUB_REVOKE_OPTIONS,
      action: revokeToken,
      examples: [
        'slime hub revoke --jti 3f6c0a9e-...',
        'slime hub revoke --agent gpu-1 --redis redis://redis:6379',
        'slime hub revoke --agent gpu-1 --state-dir /var/lib/slime',
        'slime hub revoke --list --state-dir /var/lib/slime',
      ],
    },
    {
      name: 'unrevoke',
      description: 'take a token id or an agent name off the deny list',
      options: HUB_UNREVOKE_OPTIONS,
      action: unrevokeToken,
      examples: [
        'slime hub unrevoke --agent gpu-1 --state-dir /var/lib/slime',
        'slime hub unrevoke --jti 3f6c0a9e-... --redis redis://redis:6379',
      ],
    },
    {
      name: 'status',
      description: "print the hub's agents table from its admin API",
      options: HUB_STATUS_OPTIONS,
      action: hubStatus,
      examples: [
        'slime hub status --admin-token T',
        'slime hub status --admin http://10.0.0.5:8081 --admin-token T --json',
      ],
    },
    APP_GROUP,
  ],
};

const AGENT_GROUP: CommandGroup = {
  name: 'agent',
  description: 'run an agent next to an upstream',
  commands: [
    {
      name: 'run',
      description: 'dial the hub and serve its requests from the upstream(s)',
      options: AGENT_RUN_OPTIONS,
      action: runAgent,
      examples: [
        'slime agent run --token "$TOKEN" --hub http://hub:8080 --upstream 127.0.0.1:9000',
        'SLIME_TOKEN=... SLIME_HUB=wss://hub.example SLIME_UPSTREAM="a:9000 b:9000" slime agent run',
      ],
    },
  ],
};

/** Everything under `slime`. */
export const COMMAND_TREE: CommandGroup = {
  name: 'slime',
  description: 'Slime: a hub-and-agent HTTP reverse proxy (drop-in for the Go Slime Proxy)',
  commands: [
    HUB_GROUP,
    AGENT_GROUP,
    {
      name: 'demo',
      description: 'hub + agent + a demo upstream in one process, to try Slime out',
      options: DEMO_OPTIONS,
      action: runDemo,
      examples: ['slime demo', 'slime demo --port 0'],
    },
  ],
  examples: [
    'TOKEN=$(slime hub register --secret s3cret --name gpu-1)',
    'slime hub run --secret s3cret --port 8080',
    'slime agent run --token "$TOKEN" --hub http://hub:8080 --upstream 127.0.0.1:9000',
    'slime demo --port 0',
  ],
};
