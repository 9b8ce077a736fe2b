/**
 * Hands items from a producer to a consumer one at a time, with one item of slack: the producer
 * (reading rows inside a tenant transaction) prepares the next batch while the consumer (writing
 * the archive, outside that transaction) works on the current one, and never gets further ahead.
 * Each side awaits only its own promises, so each keeps its own async context: the consumer's
 * writes never run as if inside the producer's transaction.
 */
export class Handover<T> {
  private slot: { item: T } | null = null;
  private ended = false;
  private failure: Error | null = null;
  private cancelled: Error | null = null;
  private consumerWaiting: (() => void) | null = null;
  private producerWaiting: (() => void) | null = null;

  /** Producer: places `item` once the slot is free; throws if the consumer has gone. */
  async put(item: T): Promise<void> {
    while (this.slot && !this.cancelled) await new Promise<void>((wake) => (this.producerWaiting = wake));
    if (this.cancelled) throw this.cancelled;
    this.slot = { item };
    this.wakeConsumer();
  }

  /** Producer: no more items. */
  end(): void {
    this.ended = true;
    this.wakeConsumer();
  }

  /** Producer: no more items, because of `error` (the consumer's next take throws it). */
  fail(error: Error): void {
    this.failure ??= error;
    this.end();
  }

  /** Consumer: the next item, or null after the last; throws the producer's failure. */
  async take(): Promise<T | null> {
    while (!this.slot) {
      if (this.ended) {
        if (this.failure) throw this.failure;
        return null;
      }
      await new Promise<void>((wake) => (this.consumerWaiting = wake));
    }
    const { item } = this.slot;
    this.slot = null;
    this.wakeProducer();
    return item;
  }

  /** Consumer: it takes nothing more; the producer's next put throws `error`. */
  cancel(error: Error): void {
    this.cancelled ??= error;
    this.wakeProducer();
  }

  private wakeConsumer(): void {
    const wake = this.consumerWaiting;
    this.consumerWaiting = null;
    wake?.();
  }

  private wakeProducer(): void {
    const wake = this.producerWaiting;
    this.producerWaiting = null;
    wake?.();
  }
}
