// ALLOC_PROF=FILE: a sampling allocation profile over a probe's measured window, garbage included
// (what the young-generation GC has to sweep), written as a .heapprofile for heapprofile-report.mjs.
// With ALLOC_PROF_SURVIVORS=1, only what outlived a young-generation GC (copied, promoted or
// pretenured: what makes GC expensive).
import { writeFileSync } from 'node:fs';

/** Starts sampling when ALLOC_PROF is set; the returned function stops and writes the profile. */
export async function startAllocProfile() {
  const file = process.env.ALLOC_PROF;
  if (!file) return async () => {};
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.ALLOC_PROF_SURVIVORS !== '1',
  });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(file, JSON.stringify(profile));
  };
}
