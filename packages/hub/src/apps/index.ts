/** Applications as tenants: keys, weights, priorities, queue limits and quotas. */
export {
  type AppDirectory,
  type AppSettings,
  compileApps,
  defaultSettings,
} from './app-directory.js';
export {
  type AppEdit,
  type AppListing,
  addApp,
  listApps,
  type NewApp,
  removeApp,
  rotateApp,
} from './app-edit.js';
export { generateAppKey, hashAppKey, KEY_PREFIX, keyId } from './app-keys.js';
export { quotaRules } from './app-quotas.js';
export { type AppRoutesOptions, appRoutes, DEFAULT_OVERLAP_MS } from './app-routes.js';
export {
  type AppKeySpec,
  type AppQuotas,
  type AppSpec,
  DEFAULT_APP,
  PRIORITIES,
  type Priority,
  type QuotaLimits,
  type QuotaPeriod,
} from './app-types.js';
