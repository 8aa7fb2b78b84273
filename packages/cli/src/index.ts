/**
 * The `slime` command line. The binary is `dist/bin.js`; these exports are its pure parts
 * (flag tables, parsers, the command tree) for tests and docs.
 */
export type { CliContext } from './context.js';
export { type DemoUpstream, type DemoUpstreamOptions, startDemoUpstream } from './demo-upstream.js';
export { parseDurationMs, requireDurationMs } from './durations.js';
export {
  createFragileEndpoint,
  DEFAULT_FRAGILE,
  type FragileEndpoint,
  type FragileModel,
  type FragileStats,
} from './fragile-endpoint.js';
export { parseBoolean, parseList } from './lists.js';
export {
  AGENT_RUN_OPTIONS,
  ALL_OPTIONS,
  CONFIG_OPTION,
  DEMO_OPTIONS,
  HUB_REGISTER_OPTIONS,
  HUB_REVOKE_OPTIONS,
  HUB_RUN_OPTIONS,
  HUB_STATUS_OPTIONS,
  HUB_UNREVOKE_OPTIONS,
} from './option-specs.js';
export { buildProgram, main } from './program.js';
export {
  camelKey,
  envNames,
  foldName,
  GENERIC_ENV_NAMES,
  normalizeArgv,
  type OptionSpec,
  Settings,
  slimeEnvName,
} from './settings.js';
export { ExitCode, UsageError } from './usage-error.js';
