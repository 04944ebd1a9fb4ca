// Bootstrap of a sending thread when sluice-perf runs from its TypeScript sources (under tsx):
// a worker thread cannot load .ts by itself, so register tsx in this thread, then load the
// thread. The compiled package starts dist/perf/perf-thread.js instead (see threaded-run.ts).
import { register } from 'tsx/esm/api';

register();
await import('./perf-thread.ts');
