/** Worker thread of the contended pool benchmark: runs {@link contend} on the message it gets. */
import { parentPort } from 'node:worker_threads';
import type { ContenderStart } from './pool-contender.js';
import { contend } from './pool-contender.js';

parentPort!.once('message', (msg: ContenderStart) => {
  contend(msg);
  parentPort!.postMessage('stopped');
});
