/**
 * Applications as tenants: what the policy file's `apps` section holds. Keys are stored only as
 * hashes; the key itself is printed once, when it is made.
 */

/** Request priorities, most urgent first. `Slime-Priority` asks; the app's `maxPriority` caps it. */
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** The application of requests authenticated by `--appPassword`, or of any request without app auth. */
export const DEFAULT_APP = 'default';

export const QUOTA_PERIODS = ['minute', 'hour', 'day'] as const;
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/** Per-period limits, each a positive integer; absent = no limit for that period. */
export type QuotaLimits = Partial<Record<QuotaPeriod, number>>;

export interface AppQuotas {
  /** Requests admitted per period. */
  requests?: QuotaLimits;
  /** Request plus response body bytes per period. */
  bytes?: QuotaLimits;
}

export interface AppKeySpec {
  /** `sha256:` and the hex SHA-256 of the key. */
  hash: string;
  /** ISO 8601 time after which the key is refused (set by a rotation's overlap). */
  expires?: string;
  /** ISO 8601 time the key was made; informational. */
  created?: string;
}

export interface AppSpec {
  /** 1-32 letters, digits, `_`, `.` or `-`; starts with a letter or digit. */
  name: string;
  keys?: AppKeySpec[];
  /** Share of the agents' capacity while requests wait, relative to other apps. Default 1. */
  weight?: number;
  /** Highest Slime-Priority the app may use. Default `normal`. */
  maxPriority?: Priority;
  /** Most requests of this app waiting at once; more get 503 ERR_HUB_QUEUE_FULL. */
  maxQueue?: number;
  quotas?: AppQuotas;
}

/** Most apps one policy may declare: app names are metric labels, so they stay bounded. */
export const MAX_APPS = 1000;
export const MAX_KEYS_PER_APP = 16;
export const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
export const KEY_HASH = /^sha256:[0-9a-f]{64}$/;
