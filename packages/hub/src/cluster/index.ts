export { type ClusterMetrics, createClusterMetrics } from './cluster-metrics.js';
export { disconnectRevoked } from './disconnect-revoked.js';
export {
  addToRevocationFile,
  createFileRevocations,
  type FileRevocationsOptions,
} from './file-revocations.js';
export {
  createPolicySync,
  type PolicySync,
  type PolicySyncEvent,
  type PolicySyncOptions,
} from './policy-sync.js';
export {
  createRedisClient,
  DEFAULT_REDIS_TIMEOUT_MS,
  type RedisClientOptions,
  waitReady,
} from './redis-client.js';
export {
  createRedisStore,
  FAIL_MODES,
  type FailMode,
  type RedisStoreOptions,
  type StoreFailure,
} from './redis-store.js';
export {
  createRedisRevocations,
  type RedisRevocationsOptions,
  type Revocation,
  type RevocationList,
  validateRevocation,
} from './revocations.js';
