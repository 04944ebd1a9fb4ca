/**
 * The producer's view of cluster metadata: which node leads each partition. `ready` and
 * `drain` read it; the network layer (or a test) changes it. Leaders may be unknown (-1),
 * as after a leader election or before metadata arrives.
 */

/** Leader id meaning "no known leader". */
export const NO_LEADER = -1;

/** What `ready`/`drain` need from metadata. */
export interface ClusterView {
  /** Leader node id of a partition, or {@link NO_LEADER}. */
  leaderFor(topic: string, partition: number): number;
  /** Number of partitions of a topic, or -1 when the topic is unknown. */
  partitionCount(topic: string): number;
  /**
   * Optional: a number that changes whenever any leader or partition count changes. When
   * present, the producer caches per-topic lookups (partition count, leader checks) until
   * it changes.
   */
  readonly version?: number;
}

/** A mutable in-memory metadata snapshot: topics → partitions → leader node id. */
export class Cluster implements ClusterView {
  #leaders = new Map<string, Int32Array>();
  #nodes = new Set<number>();
  #version = 0;

  /**
   * @param topics - topic name → leader node id per partition (index = partition; -1 = unknown)
   */
  constructor(topics: Record<string, readonly number[]> = {}) {
    for (const [topic, leaders] of Object.entries(topics)) this.setTopic(topic, leaders);
  }

  /** Bumped on every change, so caches can tell when to recompute. */
  get version(): number {
    return this.#version;
  }

  /** Node ids that lead at least one partition (or were added with {@link addNode}). */
  nodeIds(): number[] {
    return [...this.#nodes];
  }

  /** Registers a node without partitions. */
  addNode(nodeId: number): void {
    this.#nodes.add(nodeId);
    this.#version++;
  }

  /** Adds or replaces a topic: `leaders[p]` is partition p's leader (-1 = unknown). */
  setTopic(topic: string, leaders: readonly number[]): void {
    const arr = Int32Array.from(leaders);
    for (const l of arr) if (l >= 0) this.#nodes.add(l);
    this.#leaders.set(topic, arr);
    this.#version++;
  }

  /** Removes a topic (its partitions' leaders become unknown). */
  removeTopic(topic: string): void {
    this.#leaders.delete(topic);
    this.#version++;
  }

  /** Moves a partition's leadership (or makes it unknown with -1). */
  setLeader(topic: string, partition: number, leader: number): void {
    const arr = this.#leaders.get(topic);
    if (arr === undefined || partition < 0 || partition >= arr.length) {
      throw new RangeError(`setLeader: unknown partition ${topic}-${partition}`);
    }
    arr[partition] = leader;
    if (leader >= 0) this.#nodes.add(leader);
    this.#version++;
  }

  leaderFor(topic: string, partition: number): number {
    const arr = this.#leaders.get(topic);
    if (arr === undefined || partition >= arr.length) return NO_LEADER;
    return arr[partition];
  }

  partitionCount(topic: string): number {
    return this.#leaders.get(topic)?.length ?? -1;
  }

  /** Partitions led by `nodeId`, as `[topic, partition]` pairs (O(partitions); for tools, not hot paths). */
  partitionsForNode(nodeId: number): [string, number][] {
    const out: [string, number][] = [];
    for (const [topic, arr] of this.#leaders) for (let p = 0; p < arr.length; p++) if (arr[p] === nodeId) out.push([topic, p]);
    return out;
  }
}
