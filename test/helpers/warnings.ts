/** Process warnings of one type emitted while a test runs (the listener is removed by `stop`). */
export interface CapturedWarnings {
  readonly length: number;
  readonly messages: readonly string[];
  stop(): void;
}

/** Starts recording process warnings of type `type`. */
export function captureWarnings(type: string): CapturedWarnings {
  const messages: string[] = [];
  const listener = (w: Error): void => {
    if (w.name === type) messages.push(w.message);
  };
  process.on('warning', listener);
  return {
    get length() {
      return messages.length;
    },
    messages,
    stop: () => process.off('warning', listener),
  };
}
