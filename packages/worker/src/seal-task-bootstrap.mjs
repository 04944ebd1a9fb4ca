// Bootstrap for source mode (tests, benchmarks): a worker thread cannot load .ts directly,
// so register tsx in this thread, then load the task. The compiled build points piscina at
// ./seal-task.js instead (see worker-sealer.ts).
import { register } from 'tsx/esm/api';

register();
const task = await import('./seal-task.ts');
export default task.default;
