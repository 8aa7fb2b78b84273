// Scenario 8: overload and shaping (adaptive concurrency, pacing on upstream errors). Placeholder
// until the hub exposes shaping at run time; when it does, this file gets the scenario from the
// shaping issue and the check below becomes true.
export const id = '8';
export const title = 'Overload and shaping';
export const limitS = 300;
export const quickLimitS = 30;

export function available({ hubModule }) {
  return typeof hubModule.createShaping === 'function'
    ? 'the hub exports createShaping, but this scenario is not written yet'
    : '@slime/hub does not export shaping policies yet';
}

export async function run() {
  return {};
}
