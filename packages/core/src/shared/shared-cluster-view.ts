/**
 * The cluster as an appender thread sees it: partition counts and leaders read from the
 * shared accumulator's topic and partition tables (published by the owner, which holds the
 * real `ProducerMetadata`). Handed to a custom `Partitioner` on an appender thread, so it
 * gets the same `ClusterView` contract there as on the owning thread.
 */
import type { ClusterView } from '../cluster/cluster.js';
import { NO_LEADER } from '../cluster/cluster.js';
import { META_VERSION_INDEX, P_LEADER, T_MAP_INDEX, T_PARTITION_COUNT, T_STATE, TopicState, partitionEntry } from './shared-accumulator-layout.js';
import type { SharedLayout } from './shared-accumulator-layout.js';

/** A {@link ClusterView} over the shared tables. */
export class SharedClusterView implements ClusterView {
  readonly #control: Int32Array;
  readonly #layout: SharedLayout;
  readonly #topicEntry: (topic: string) => number;

  /**
   * @param topicEntry - word index of a topic's entry, or -1 when the topic has none (yet)
   */
  constructor(control: Int32Array, layout: SharedLayout, topicEntry: (topic: string) => number) {
    this.#control = control;
    this.#layout = layout;
    this.#topicEntry = topicEntry;
  }

  /** Changes whenever the owner publishes a topic, a partition or a leader. */
  get version(): number {
    return Atomics.load(this.#control, META_VERSION_INDEX);
  }

  partitionCount(topic: string): number {
    const t = this.#topicEntry(topic);
    if (t < 0 || Atomics.load(this.#control, t + T_STATE) !== TopicState.READY) return -1;
    return Atomics.load(this.#control, t + T_PARTITION_COUNT);
  }

  leaderFor(topic: string, partition: number): number {
    const t = this.#topicEntry(topic);
    if (t < 0) return NO_LEADER;
    const control = this.#control;
    if (!(partition >= 0 && partition < Atomics.load(control, t + T_PARTITION_COUNT))) return NO_LEADER;
    const entry = Atomics.load(control, Atomics.load(control, t + T_MAP_INDEX) + partition);
    return Atomics.load(control, partitionEntry(this.#layout, entry) + P_LEADER);
  }
}
