/** The admin API: policy management, and a place for metrics, health and status routes. */
export {
  type AdminRoute,
  type AdminServer,
  type AdminServerOptions,
  createAdminServer,
} from './admin-server.js';
export type { RouteHandler } from './policy-routes.js';
export { AdminError, type AdminErrorCode, sendJson, sendProblem } from './respond.js';
