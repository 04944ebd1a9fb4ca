/** A topic and a partition number: where a record goes. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** `topic-partition`, the form Kafka prints. */
export function topicPartitionString(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}
