/**
 * ProducerMetadata against the real embedded cluster on virtual time: coalesced requests,
 * backoff, waits bounded by max.block.ms, topic errors surfacing at once, leader epochs that
 * never go backwards, and the periodic refresh without an idle timer.
 */
import { expect } from 'chai';
import { VirtualScheduler } from '../../../packages/core/src/embedded/virtual-scheduler.js';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import type { InMemoryClusterOptions } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { ProducerMetadata } from '../../../packages/core/src/metadata/producer-metadata.js';
import type { ProducerMetadataConfig } from '../../../packages/core/src/metadata/producer-metadata.js';
import type { MetadataRequest, MetadataResponse } from '../../../packages/core/src/network/network-client.js';
import { BrokerError, ClosedError, InvalidRecordError, TimeoutError } from '../../../packages/core/src/errors.js';
import { track } from '../sender/sender-harness.js';

const CONFIG: ProducerMetadataConfig = { retryBackoffMs: 100, retryBackoffMaxMs: 1000, metadataMaxAgeMs: 300_000, allowAutoCreateTopics: true };

/** The cluster behind a counter of metadata requests (every call goes to the real cluster). */
function setup(cluster: InMemoryClusterOptions = {}, config: Partial<ProducerMetadataConfig> = {}) {
  const scheduler = new VirtualScheduler();
  const network = new InMemoryCluster({ topics: { t: 3 }, latencyMs: 5, ...cluster, scheduler });
  const requests: { atMs: number; topics: readonly string[] }[] = [];
  const fetchMetadata = network.fetchMetadata.bind(network);
  network.fetchMetadata = (request: MetadataRequest): Promise<MetadataResponse> => {
    requests.push({ atMs: scheduler.nowMs(), topics: [...request.topics] });
    return fetchMetadata(request);
  };
  const metadata = new ProducerMetadata({ network, scheduler, config: { ...CONFIG, ...config }, random: () => 0.5 });
  return { scheduler, network, metadata, requests };
}

describe('ProducerMetadata', () => {
  describe('awaitTopic()', () => {
    it('resolves once the topic is known; concurrent waits share one request', async () => {
      const { scheduler, metadata, requests } = setup();
      const waits = [track(metadata.awaitTopic('t', -1, 1000)), track(metadata.awaitTopic('t', 2, 1000)), track(metadata.awaitTopic('t', -1, 1000))];
      expect(metadata.pendingWaits).to.equal(3);
      await scheduler.runUntil(() => waits.every((w) => w.settled));
      expect(waits.every((w) => w.error === undefined)).to.equal(true);
      expect(requests).to.have.length(1);
      expect(metadata.cluster.partitionCount('t')).to.equal(3);
      expect(metadata.nodes().map((n) => n.nodeId)).to.deep.equal([0, 1, 2]);
      expect(metadata.pendingWaits).to.equal(0);
      expect(scheduler.pendingTimers(), 'nothing left to do: no timer').to.equal(0);
    });

    it('keeps asking for an unknown topic, spaced by the backoff, and fails after maxBlockMs naming it', async () => {
      const { scheduler, metadata, requests } = setup({ autoCreateTopics: false });
      const t0 = scheduler.nowMs();
      const w = track(metadata.awaitTopic('missing', -1, 1000));
      await scheduler.runUntil(() => w.settled);
      expect(scheduler.nowMs() - t0).to.equal(1000);
      expect(w.error).to.be.instanceOf(TimeoutError);
      expect(w.error!.message).to.match(/topic missing not present in metadata after 1000 ms \(max\.block\.ms=1000\)/);
      const gaps = requests.slice(1).map((r, i) => r.atMs - requests[i].atMs);
      expect(requests.length).to.be.within(5, 11);
      for (const g of gaps) expect(g, 'spaced by retry.backoff.ms').to.be.at.least(100);
      await scheduler.runUntilIdle(10_000);
      expect(scheduler.pendingTimers()).to.equal(0);
    });

    it('fails at once with the broker error when the topic has a non-retriable error (not a max.block.ms timeout)', async () => {
      const { scheduler, network, metadata } = setup();
      network.setTopicError('secret', 29);
      const t0 = scheduler.nowMs();
      const w = track(metadata.awaitTopic('secret', -1, 60_000));
      await scheduler.runUntil(() => w.settled);
      expect(scheduler.nowMs() - t0).to.be.lessThan(100);
      expect(w.error).to.be.instanceOf(BrokerError);
      expect((w.error as BrokerError).errorName).to.equal('TOPIC_AUTHORIZATION_FAILED');
      expect(w.error!.message).to.contain('topic secret');
      // A retriable one (leader election in progress) keeps the wait going.
      network.setTopicError('electing', 5);
      const e = track(metadata.awaitTopic('electing', -1, 60_000));
      await scheduler.runFor(500);
      expect(e.settled).to.equal(false);
      network.createTopic('electing', 1);
      network.setTopicError('electing', 0);
      await scheduler.runUntil(() => e.settled);
      expect(e.error).to.equal(undefined);
    });

    it('fails a partition beyond the topic partition count with InvalidRecordError once the topic is known', async () => {
      const { scheduler, metadata } = setup();
      const w = track(metadata.awaitTopic('t', 7, 60_000));
      await scheduler.runUntil(() => w.settled);
      expect(w.error).to.be.instanceOf(InvalidRecordError);
      expect(w.error!.message).to.match(/is 7, but topic t has 3 partition\(s\)/);
    });

    it('close() fails waiting sends with the given error and leaves no timer', async () => {
      const { scheduler, metadata } = setup({ autoCreateTopics: false });
      const w = track(metadata.awaitTopic('missing', -1, 60_000));
      await scheduler.runFor(250);
      await metadata.close(new ClosedError('closing'));
      await scheduler.runFor(0);
      expect(w.error).to.be.instanceOf(ClosedError);
      expect(scheduler.pendingTimers()).to.equal(0);
      const later = track(metadata.awaitTopic('t', -1, 1000));
      await scheduler.runFor(0);
      expect(later.error).to.be.instanceOf(ClosedError);
    });
  });

  describe('requestUpdate() / refresh', () => {
    it('asks for every topic the producer uses in one request, at most one in flight', async () => {
      const { scheduler, network, metadata, requests } = setup();
      network.createTopic('u', 2);
      await scheduler.runUntil(() => metadata.cluster.partitionCount('t') >= 0 || (metadata.requestUpdate(['t']), false));
      metadata.requestUpdate(['u']);
      metadata.requestUpdate(['u', 't']);
      await scheduler.runUntil(() => metadata.cluster.partitionCount('u') === 2);
      expect(requests.at(-1)!.topics.slice().sort()).to.deep.equal(['t', 'u']);
      expect(requests.length).to.equal(2);
    });

    it('sees a leader move after a refresh, with its leader epoch, and never goes back to an older epoch', async () => {
      const { scheduler, network, metadata } = setup();
      metadata.requestUpdate(['t']);
      await scheduler.runUntil(() => metadata.cluster.partitionCount('t') === 3);
      network.moveLeader('t', 1, 0);
      await scheduler.runFor(200);
      expect(metadata.cluster.leaderFor('t', 1), 'stale until asked').to.equal(1);
      metadata.requestUpdate(['t']);
      await scheduler.runUntil(() => metadata.cluster.leaderFor('t', 1) === 0);
      expect(metadata.leaderEpoch('t', 1)).to.equal(1);
      // A lagging broker answers with the old leader and epoch 0: ignored for that partition.
      metadata.apply({
        brokers: [],
        clusterId: null,
        controllerId: 0,
        topics: [{ topic: 't', errorCode: 0, partitions: [0, 1, 2].map((p) => ({ partition: p, errorCode: 0, leader: p === 2 ? 0 : p, leaderEpoch: 0 })) }],
      });
      expect(metadata.cluster.leaderFor('t', 1)).to.equal(0);
      expect(metadata.leaderEpoch('t', 1)).to.equal(1);
      expect(metadata.cluster.leaderFor('t', 2), 'same epoch: taken').to.equal(0);
    });

    it('backs off exponentially while no broker answers, then recovers', async () => {
      const { scheduler, network, metadata, requests } = setup({}, { retryBackoffMs: 100, retryBackoffMaxMs: 800 });
      for (const id of network.brokerIds()) network.setBrokerDown(id, true);
      metadata.requestUpdate(['t']);
      await scheduler.runFor(3000);
      const gaps = requests.slice(1).map((r, i) => r.atMs - requests[i].atMs);
      expect(gaps.slice(0, 4)).to.deep.equal([100, 200, 400, 800]);
      expect(Math.max(...gaps)).to.equal(800);
      for (const id of network.brokerIds()) network.setBrokerDown(id, false);
      await scheduler.runUntil(() => metadata.cluster.partitionCount('t') === 3, 2000);
      expect(metadata.cluster.partitionCount('t')).to.equal(3);
    });

    it('maybeRefresh() refreshes once metadata.max.age.ms has passed, and keeps no timer while idle', async () => {
      const { scheduler, metadata, requests } = setup({}, { metadataMaxAgeMs: 10_000 });
      metadata.requestUpdate(['t']);
      await scheduler.runUntil(() => metadata.cluster.partitionCount('t') === 3);
      expect(scheduler.pendingTimers()).to.equal(0);
      metadata.maybeRefresh();
      await scheduler.runFor(9000);
      expect(requests).to.have.length(1);
      metadata.maybeRefresh();
      await scheduler.runFor(2000);
      metadata.maybeRefresh();
      await scheduler.runFor(100);
      expect(requests).to.have.length(2);
      expect(requests[1].topics).to.deep.equal(['t']);
    });
  });
});
