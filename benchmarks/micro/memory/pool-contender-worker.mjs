// Bootstrap: worker threads cannot load .ts directly, so register tsx, then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./pool-contender-worker.ts');
