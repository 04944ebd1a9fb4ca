// Bootstrap: register tsx in this worker, then load the TypeScript producer thread.
import { register } from 'tsx/esm/api';

register();
await import('./producer-thread.ts');
