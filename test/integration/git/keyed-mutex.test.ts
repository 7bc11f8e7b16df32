/** The in-process lock that serialises operations on one mirror. */
import { KeyedMutex } from '../../../src/plugins/git';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('KeyedMutex', () => {
  it('runs operations on one key one at a time, in arrival order, even when one fails', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const op = (name: string, fail = false) => async () => {
      events.push(`start ${name}`);
      await tick();
      events.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };

    const results = await Promise.allSettled([mutex.run('m', op('a')), mutex.run('m', op('b', true)), mutex.run('m', op('c'))]);

    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('runs operations on different keys concurrently', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const op = (name: string) => async () => {
      events.push(`start ${name}`);
      await tick();
      events.push(`end ${name}`);
    };

    await Promise.all([mutex.run('x', op('x')), mutex.run('y', op('y'))]);

    expect(events.slice(0, 2)).toEqual(['start x', 'start y']);
  });
});
