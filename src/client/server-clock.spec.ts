import { ServerClock } from './server-clock';

describe(ServerClock.name, () => {
  it('knows nothing until an answer tells the time, and reads the local clock meanwhile', () => {
    const clock = new ServerClock(() => 5000);
    expect([clock.known, clock.offsetMs, clock.now()]).toEqual([false, 0, 5000]);
    clock.observe(1, 2, null);
    clock.observe(1, 2, 'soon');
    expect(clock.known).toBe(false);
  });

  it('takes the midpoint of the request: sent at 1000, answered at 1200, the service read 3601100', () => {
    let local = 2000;
    const clock = new ServerClock(() => local);
    clock.observe(1000, 1200, '3601100');
    // The service's clock is an hour (3,600,000 ms) ahead of this one.
    expect(clock.offsetMs).toBe(3_600_000);
    local = 10_000;
    expect(clock.now()).toBe(3_610_000);
  });

  it('prefers the answer with the shortest round trip among the last eight', () => {
    const clock = new ServerClock(() => 0);
    clock.observe(0, 20, '510'); // offset 500, 20 ms round trip
    clock.observe(100, 900, '1700'); // offset 1200, 800 ms round trip: less to go by
    expect(clock.offsetMs).toBe(500);
    for (let i = 0; i < 8; i++) clock.observe(1000, 1100, '1350'); // offset 300, 100 ms
    // The 20 ms answer fell out of the last eight.
    expect(clock.offsetMs).toBe(300);
  });
});
