/**
 * The wire transport against peers that misbehave at the TCP level — nothing listening, a
 * name that does not resolve, a peer that accepts and never answers, one that closes in the
 * middle of a response, one that sends garbage: every send ends with a clear error within
 * the configured times, nothing hangs, close() finishes and the pool memory is all back.
 * (Faults of a real broker while producing are in test/integration/.)
 */
import { expect } from 'chai';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { Producer } from '../../../../packages/core/src/producer.js';
import { ProtocolError, TimeoutError } from '../../../../packages/core/src/errors.js';

/** A TCP server on a free loopback port whose connections `onConnection` handles. */
async function peer(onConnection: (socket: Socket) => void): Promise<{ server: Server; address: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, address: `127.0.0.1:${port}`, sockets };
}

async function stop(p: { server: Server; sockets: Socket[] }): Promise<void> {
  for (const s of p.sockets) s.destroy();
  await new Promise<void>((resolve) => p.server.close(() => resolve()));
}

/** Sends one record, closes; returns the send's error and how long each step took. */
async function sendOne(bootstrap: string, config: Record<string, unknown> = {}): Promise<{ error: Error | undefined; sendMs: number; closeMs: number; producer: Producer }> {
  const producer = new Producer({
    config: { 'bootstrap.servers': bootstrap, 'max.block.ms': 800, 'socket.connection.setup.timeout.ms': 400, 'socket.connection.setup.timeout.max.ms': 400, 'reconnect.backoff.ms': 50, ...config },
  });
  const t0 = Date.now();
  let error: Error | undefined;
  try {
    await producer.send({ topic: 'events', value: 'v' });
  } catch (e) {
    error = e as Error;
  }
  const t1 = Date.now();
  await producer.close();
  const pool = producer.accumulator.pool;
  expect(pool.availableMemory(), 'pool memory back').to.equal(pool.totalMemory);
  return { error, sendMs: t1 - t0, closeMs: Date.now() - t1, producer };
}

describe('WireNetworkClient faults (misbehaving TCP peers)', function () {
  this.timeout(20_000);

  it('refused connection: the send fails after max.block.ms naming the address, the step and the bootstrap node', async () => {
    const { error, sendMs, closeMs } = await sendOne('127.0.0.1:1');
    expect(error).to.be.instanceOf(TimeoutError);
    expect(error!.message).to.match(/topic events not present in metadata after \d+ ms \(max\.block\.ms=800\)/);
    expect(error!.message).to.contain('connection refused to 127.0.0.1:1 (node -1, bootstrap)');
    expect(sendMs).to.be.within(800, 2000);
    expect(closeMs).to.be.lessThan(500);
  });

  it('a host that does not resolve: the error says so', async () => {
    const { error } = await sendOne('no-such-host.invalid:9092');
    expect(error).to.be.instanceOf(TimeoutError);
    expect(error!.message).to.contain('cannot resolve host no-such-host.invalid');
  });

  it('several bootstrap servers are tried in turn, and every failure is named', async () => {
    const { error } = await sendOne('127.0.0.1:1,127.0.0.1:2');
    expect(error!.message).to.contain('127.0.0.1:1 (node -1, bootstrap)');
    expect(error!.message).to.contain('127.0.0.1:2 (node -2, bootstrap)');
  });

  it('a peer that accepts and never answers: set-up times out, the send fails on time, close does not hang', async () => {
    const p = await peer(() => undefined);
    try {
      const { error, sendMs, closeMs } = await sendOne(p.address);
      expect(error).to.be.instanceOf(TimeoutError);
      expect(error!.message).to.match(/not set up within 400 ms \(socket\.connection\.setup\.timeout\.ms; step: negotiating\)/);
      expect(sendMs).to.be.within(800, 2000);
      expect(closeMs).to.be.lessThan(500);
    } finally {
      await stop(p);
    }
  });

  it('a peer that closes in the middle of a response', async () => {
    const p = await peer((s) => {
      s.once('data', () => {
        // A frame announcing 100 bytes, 10 of them sent, then the connection closes.
        const partial = Buffer.alloc(14);
        partial.writeInt32BE(100, 0);
        s.end(partial);
      });
    });
    try {
      const { error } = await sendOne(p.address);
      expect(error).to.be.instanceOf(TimeoutError);
      expect(error!.message).to.match(/closed the connection with 1 request\(s\) unanswered \(step: negotiating\), in the middle of a response \(\d+ bytes of it received\)/);
    } finally {
      await stop(p);
    }
  });

  it('garbage bytes from the peer: a protocol error closes the connection', async () => {
    const p = await peer((s) => {
      s.once('data', () => s.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8])));
    });
    try {
      const { error } = await sendOne(p.address);
      expect(error).to.be.instanceOf(TimeoutError);
      expect(error!.message).to.match(/frame size -16 at stream offset 0 is outside 0\.\.\d+/);
    } finally {
      await stop(p);
    }
  });

  it('a response with the wrong correlation id is a protocol error, not a guess', async () => {
    const p = await peer((s) => {
      s.once('data', () => {
        const frame = Buffer.alloc(4 + 4 + 2);
        frame.writeInt32BE(6, 0);
        frame.writeInt32BE(12345, 4); // correlation id nobody asked for
        s.write(frame);
      });
    });
    try {
      const { error } = await sendOne(p.address);
      expect(error!.message).to.contain('answered correlation id 12345 while ApiVersions');
      void ProtocolError;
    } finally {
      await stop(p);
    }
  });
});
