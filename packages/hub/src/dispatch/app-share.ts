import type { AppDirectory } from '../apps/app-directory.js';
import type { AppShare } from './fair-queue.js';

/** The dispatcher's view of the applications in force: weight and queue limit by name. */
export function shareOf(apps: () => AppDirectory): (app: string) => AppShare {
  return (app) => apps().settings(app);
}
