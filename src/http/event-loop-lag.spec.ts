import { EventLoopLag } from './event-loop-lag';

describe(EventLoopLag.name, () => {
  let now: number;
  let elu: { idle: number; active: number };
  let lag: EventLoopLag;

  beforeEach(() => {
    jest.useFakeTimers();
    now = 1000;
    elu = { idle: 0, active: 0 };
    lag = new EventLoopLag(
      () => now,
      () => ({ ...elu }),
    );
  });

  afterEach(() => {
    lag.stop();
    jest.useRealTimers();
  });

  it('reads 0 while stopped, however late the clock is', () => {
    now += 5000;
    expect(lag.ms).toBe(0);
  });

  it('reads 0 while its timer is not yet due', () => {
    lag.start();
    now += 15;
    expect(lag.ms).toBe(0);
  });

  it('reads how overdue its timer is while the loop has not come round to it', () => {
    lag.start();
    now += 20 + 130;
    expect(lag.ms).toBe(130);
  });

  it('keeps the lateness of the last firing until the next one, then takes the new one', () => {
    lag.start();
    now += 20 + 300;
    jest.advanceTimersByTime(20); // the timer fires 300 ms late
    now += 5;
    expect(lag.ms).toBe(300);

    now += 15 + 2;
    jest.advanceTimersByTime(20); // the next one fires 2 ms late
    expect(lag.ms).toBe(2);
  });

  it('forgets the last lateness when stopped', () => {
    lag.start();
    now += 20 + 300;
    jest.advanceTimersByTime(20);
    lag.stop();
    lag.start();
    expect(lag.ms).toBe(0);
  });

  it('reads the busy share of the last five samples (100 ms)', () => {
    lag.start();
    expect(lag.utilization).toBe(0);
    for (const busy of [0, 0, 0, 0, 0, 20, 20, 20, 20, 20]) {
      elu.active += busy;
      elu.idle += 20 - busy;
      now += 20;
      jest.advanceTimersByTime(20);
    }
    expect(lag.utilization).toBe(1);
    for (const busy of [5, 5]) {
      elu.active += busy;
      elu.idle += 20 - busy;
      now += 20;
      jest.advanceTimersByTime(20);
    }
    // The last five periods: 20, 20, 20, 5, 5 of 100 ms busy.
    expect(lag.utilization).toBeCloseTo(0.7);
  });
});
