/** Metrics, logs, health, status: what operators see of a running hub. */
export {
  type AgentBytesDirection,
  createHubMetrics,
  type HubLike,
  type HubMetrics,
  type HubMetricsOptions,
  type HubSource,
  type QueueWaitOutcome,
} from './hub-metrics.js';
export { ANY_SCOPE, closeReasonLabel, statusClass } from './labels.js';
export { type CreateLoggerOptions, createLogger, type LogLevel, REDACT_PATHS } from './logger.js';
export { createOpsRoutes, type OpsHub, type OpsRoutes, type OpsRoutesOptions } from './ops-routes.js';
export { type AgentStatus, createStatusSource, type HubStatus, type StatusSourceOptions } from './status.js';
export { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page.js';
