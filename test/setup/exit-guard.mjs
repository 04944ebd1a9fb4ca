// Mocha global fixture (loaded through .mocharc's "require"): the test run must end by
// itself once the last test is done. A producer, worker thread, socket or broker process
// that a failing test left behind would otherwise keep the process alive with no output
// (CI once waited its whole 90 minutes on one). Twenty seconds after the last test, if the
// process is still alive, this names what keeps it alive and exits with a failure.
// The timer is unref'd: it never keeps the process alive itself.

const GRACE_MS = 20_000;

export function mochaGlobalTeardown() {
  const timer = setTimeout(() => {
    // Resources (timers included; one of them is this guard's own) and handles, by kind.
    const kinds = new Map();
    for (const r of process.getActiveResourcesInfo()) kinds.set(r, (kinds.get(r) ?? 0) + 1);
    for (const h of process._getActiveHandles()) {
      const name = `handle ${h?.constructor?.name ?? typeof h}`;
      kinds.set(name, (kinds.get(name) ?? 0) + 1);
    }
    const left = [...kinds].map(([kind, n]) => `${kind} x${n}`);
    process.stderr.write(
      `\nexit guard: the test process is still alive ${GRACE_MS / 1000} s after the last test; ` +
        `still active: ${left.join(', ') }. ` +
        'Something a test started was not closed: failing the run.\n',
    );
    // Mocha sets the exit code to its failure count on 'exit'; this listener comes after its.
    process.on('exit', () => {
      process.exitCode = 1;
    });
    process.exit(1);
  }, GRACE_MS);
  timer.unref();
}
