import { InvalidRecordError } from '../errors.js';

/** A topic and a partition number: where a record goes. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** `topic-partition`, the form Kafka prints. */
export function topicPartitionString(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

/** Longest legal topic name (Kafka `Topic.MAX_NAME_LENGTH`). */
export const MAX_TOPIC_LENGTH = 249;
const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;

/**
 * Checks a topic name as Kafka does (`org.apache.kafka.common.internals.Topic.validate`):
 * 1..249 characters of `[a-zA-Z0-9._-]`, and not `.` or `..`.
 * @throws InvalidRecordError (field `topic`) naming the rule the name breaks
 */
export function checkTopicName(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string') {
    throw new InvalidRecordError('topic', `must be a string, got ${topic === null ? 'null' : typeof topic}${typeof topic === 'object' || topic === undefined ? '' : ` ${String(topic).slice(0, 40)}`}`);
  }
  if (topic.length === 0) throw new InvalidRecordError('topic', 'must not be empty');
  if (topic.length > MAX_TOPIC_LENGTH) throw new InvalidRecordError('topic', `is ${topic.length} characters long, more than the ${MAX_TOPIC_LENGTH} Kafka allows`);
  if (topic === '.' || topic === '..') throw new InvalidRecordError('topic', `cannot be ${JSON.stringify(topic)}`);
  if (!LEGAL_TOPIC.test(topic)) {
    const bad = [...new Set(topic.replace(/[a-zA-Z0-9._-]/g, ''))].slice(0, 5).map((c) => JSON.stringify(c)).join(', ');
    throw new InvalidRecordError('topic', `${JSON.stringify(topic.slice(0, 60))} contains ${bad}: legal characters are ASCII letters, digits, '.', '_' and '-'`);
  }
}
