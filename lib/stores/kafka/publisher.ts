/**
 * Sends on an idempotent kafkajs producer, coalescing concurrent calls.
 *
 * kafkajs keeps one produce request in flight per broker for an idempotent producer (it holds a
 * per-broker lock so sequence numbers stay gapless), so N concurrent `send()` calls cost N round
 * trips one after another. Here, calls that arrive while a request is in flight wait together and
 * go out as one `sendBatch` as soon as it returns: a lone call is sent at once (no linger), a
 * burst of API requests shares round trips. Order is kept: messages go out in call order, so one
 * key's messages stay in order within its partition.
 */
import type { Message, Producer } from 'kafkajs';
import { DependencyError, describeError } from '../../errors.ts';

interface Pending {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class CoalescingPublisher {
  private queue: Pending[] = [];
  private sending = false;

  constructor(private readonly producer: Producer) {}

  send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const byTopic = new Map<string, Message[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic);
        if (list) list.push(...p.messages);
        else byTopic.set(p.topic, [...p.messages]);
      }
      try {
        await this.producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        for (const p of batch) p.resolve();
      } catch (error) {
        const wrapped = new DependencyError('kafka', `publish failed: ${describeError(error)}`, {
          cause: error,
        });
        for (const p of batch) p.reject(wrapped);
      }
    }
    this.sending = false;
  }
}
