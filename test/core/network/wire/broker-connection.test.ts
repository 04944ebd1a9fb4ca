/**
 * BrokerConnection against a small hand-written peer on a real TCP socket: the ApiVersions
 * fallback (a broker that does not know v4 answers UNSUPPORTED_VERSION with a v0 body, the
 * client retries with the version it lists), back-pressure (a peer that stops reading makes
 * the connection unwritable until the kernel buffers drain), and the per-request timeout.
 */
import { expect } from 'chai';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { BrokerConnection } from '../../../../packages/core/src/network/wire/broker-connection.js';
import { ApiKey } from '../../../../packages/core/src/protocol/api-keys.js';
import { TimeoutError } from '../../../../packages/core/src/errors.js';

/** An ApiVersions response frame (header v0 + v0 body) listing `keys`. */
function apiVersionsV0(correlationId: number, errorCode: number, keys: [number, number, number][]): Buffer {
  const body = Buffer.alloc(2 + 4 + keys.length * 6);
  body.writeInt16BE(errorCode, 0);
  body.writeInt32BE(keys.length, 2);
  keys.forEach(([k, min, max], i) => {
    body.writeInt16BE(k, 6 + i * 6);
    body.writeInt16BE(min, 8 + i * 6);
    body.writeInt16BE(max, 10 + i * 6);
  });
  const frame = Buffer.alloc(4 + 4 + body.length);
  frame.writeInt32BE(4 + body.length, 0);
  frame.writeInt32BE(correlationId, 4);
  body.copy(frame, 8);
  return frame;
}

/** Reads request frames from `socket`, calling `onRequest(apiKey, apiVersion, correlationId)` for each. */
function readRequests(socket: Socket, onRequest: (apiKey: number, apiVersion: number, correlationId: number) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const size = buf.readInt32BE(0);
      onRequest(buf.readInt16BE(4), buf.readInt16BE(6), buf.readInt32BE(8));
      buf = buf.subarray(4 + size);
    }
  });
}

/** A peer that answers ApiVersions v4 with UNSUPPORTED_VERSION (v0 body) and v0 with the list; `after` takes over then. */
async function fakeBroker(after: (socket: Socket) => void): Promise<{ server: Server; port: number; versionsAsked: number[] }> {
  const versionsAsked: number[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let negotiated = false;
    readRequests(socket, (apiKey, apiVersion, correlationId) => {
      if (negotiated || apiKey !== ApiKey.API_VERSIONS) return;
      versionsAsked.push(apiVersion);
      if (apiVersion > 0) {
        socket.write(apiVersionsV0(correlationId, 35, [[ApiKey.API_VERSIONS, 0, 0]]));
        return;
      }
      negotiated = true;
      socket.write(apiVersionsV0(correlationId, 0, [[ApiKey.API_VERSIONS, 0, 0], [ApiKey.PRODUCE, 3, 7], [ApiKey.METADATA, 0, 2]]));
      // From here on the test's handler owns the socket (it may read nothing at all).
      socket.removeAllListeners('data');
      socket.on('data', () => undefined);
      after(socket);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, versionsAsked };
}

function connection(port: number, overrides: Partial<ConstructorParameters<typeof BrokerConnection>[0]> = {}): BrokerConnection {
  return new BrokerConnection({ host: '127.0.0.1', port, nodeId: 1, clientId: 'test', requestTimeoutMs: 5000, setupTimeoutMs: 5000, maxInFlight: 1000, ...overrides });
}

describe('BrokerConnection', () => {
  it('falls back from ApiVersions v4 to the version the broker lists (v0), and negotiates every API from its answer', async () => {
    const peer = await fakeBroker(() => undefined);
    const c = connection(peer.port);
    try {
      await c.connect();
      expect(peer.versionsAsked).to.deep.equal([4, 0]);
      expect(c.versionFor(ApiKey.PRODUCE)).to.equal(7);
      expect(c.versionFor(ApiKey.METADATA)).to.equal(2);
      expect(() => c.versionFor(ApiKey.INIT_PRODUCER_ID)).to.throw(/does not support InitProducerId/);
    } finally {
      c.close();
      peer.server.close();
    }
  });

  it('stops taking produce requests while the peer does not read (socket back-pressure), and says when it can again', async () => {
    let held: Socket | null = null;
    const peer = await fakeBroker((s) => {
      held = s;
      s.pause();
    });
    let writable = 0;
    const c = connection(peer.port, { onWritable: () => writable++ });
    try {
      await c.connect();
      const before = writable;
      const chunk = new Uint8Array(new SharedArrayBuffer(1 << 20));
      const pending: Promise<unknown>[] = [];
      let sent = 0;
      while (c.canSendProduce() && sent < 200) {
        // acks=0 style (no response expected): settles once written
        pending.push(c.produce(3, () => [chunk], null));
        sent++;
      }
      expect(c.canSendProduce(), 'unwritable once the socket buffers are full').to.equal(false);
      expect(sent).to.be.lessThan(200);
      held!.resume();
      await Promise.all(pending);
      await new Promise((r) => setTimeout(r, 20));
      expect(c.canSendProduce(), 'writable again after drain').to.equal(true);
      expect(writable).to.be.greaterThan(before);
    } finally {
      c.close();
      peer.server.close();
    }
  });

  it('closes the connection when a request is not answered within request.timeout.ms, failing it with a retriable TimeoutError', async () => {
    const peer = await fakeBroker(() => undefined); // never answers anything after negotiation
    const c = connection(peer.port, { requestTimeoutMs: 200 });
    try {
      await c.connect();
      const t0 = Date.now();
      const err = await c.produce(3, () => [new Uint8Array(10)], (b) => b).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(TimeoutError);
      expect((err as TimeoutError).retriable).to.equal(true);
      expect((err as Error).message).to.match(/Produce v3 request \(correlation id \d+\) to 127\.0\.0\.1:\d+ \(node 1\) not answered within request\.timeout\.ms=200; connection closed/);
      expect(Date.now() - t0).to.be.within(190, 1000);
      expect(c.isClosed).to.equal(true);
    } finally {
      c.close();
      peer.server.close();
    }
  });
});
