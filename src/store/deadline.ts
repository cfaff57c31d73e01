/** What `Deadline.race` answers when the work was slower than the deadline. */
export const LATE = Symbol('late');

/**
 * WRITE_DEADLINE_MS for one call to the store: the work goes on after the deadline (its result
 * is then looked at by no one), and can ask `expired` whether its caller has given up on it.
 */
export class Deadline {
  expired = false;
  private readonly timer: NodeJS.Timeout;
  private readonly reached: Promise<typeof LATE>;

  constructor(ms: number) {
    let reach!: (late: typeof LATE) => void;
    this.reached = new Promise((resolve) => (reach = resolve));
    this.timer = setTimeout(() => {
      this.expired = true;
      reach(LATE);
    }, ms);
  }

  /** The work's result, or LATE if the deadline came first. */
  race<T>(work: Promise<T>): Promise<T | typeof LATE> {
    return Promise.race([work, this.reached]);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
