import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: the "@slime/source" export condition points each
// workspace package at src/index.ts, so no build is needed before `vitest run`.
export default defineConfig({
  resolve: { conditions: ['@slime/source'] },
  ssr: { resolve: { conditions: ['@slime/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    restoreMocks: true,
  },
});
