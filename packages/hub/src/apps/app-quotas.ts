import type { RateLimitRule } from '../policy/types.js';
import { type AppSpec, QUOTA_PERIODS, type QuotaPeriod } from './app-types.js';

const WINDOW: Record<QuotaPeriod, string> = { minute: '1m', hour: '1h', day: '1d' };

/**
 * An application's quotas as rate-limit rules (one per unit and period), so they share the rate
 * limiter's store (Redis with several hubs), its 429 answers and its RateLimit headers. The rule
 * names (`app:<name>:requests:hour`) are what RateLimit-Policy shows the client.
 */
export function quotaRules(apps: readonly AppSpec[] | undefined): RateLimitRule[] {
  const rules: RateLimitRule[] = [];
  for (const a of apps ?? []) {
    for (const unit of ['requests', 'bytes'] as const) {
      const limits = a.quotas?.[unit];
      if (!limits) continue;
      for (const period of QUOTA_PERIODS) {
        const limit = limits[period];
        if (limit === undefined) continue;
        rules.push({
          name: `app:${a.name}:${unit}:${period}`,
          match: { app: a.name },
          limit,
          window: WINDOW[period],
          unit,
          algorithm: 'sliding-window',
        });
      }
    }
  }
  return rules;
}
