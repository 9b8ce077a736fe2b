import { Handover } from './export-handover';

describe('Handover', () => {
  it('passes every item in order, with the producer never more than one item ahead', async () => {
    const handover = new Handover<number>();
    let placed = 0;
    const producing = (async () => {
      for (let item = 1; item <= 5; item++) {
        await handover.put(item);
        placed = item;
      }
      handover.end();
    })();
    const taken: number[] = [];
    for (let item = await handover.take(); item !== null; item = await handover.take()) {
      expect(placed - item).toBeLessThanOrEqual(1);
      taken.push(item);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await producing;
    expect(taken).toEqual([1, 2, 3, 4, 5]);
  });

  it("makes the consumer's next take throw the producer's failure, after the items already placed", async () => {
    const handover = new Handover<string>();
    await handover.put('first');
    handover.fail(new Error('database gone'));
    expect(await handover.take()).toBe('first');
    await expect(handover.take()).rejects.toThrow('database gone');
  });

  it("makes the producer's next put throw once the consumer cancels, even while it waits for the slot", async () => {
    const handover = new Handover<string>();
    await handover.put('first');
    const waiting = handover.put('second');
    handover.cancel(new Error('storage gone'));
    await expect(waiting).rejects.toThrow('storage gone');
    await expect(handover.put('third')).rejects.toThrow('storage gone');
  });
});
