import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { describeFailure } from '../influx/influx.answers';
import { influxConfig, type InfluxConfig } from '../influx/influx.config';
import { InfluxService } from '../influx/influx.service';
import { targetRetentionPolicy, type RetentionPolicy } from '../influx/retention-policy';

/** How often the retention policy is read again (InfluxDB's own refresh of the schema). */
const REFRESH_MS = 60_000;

/**
 * How far back an event's `time` may go: the target retention policy's duration (the one named
 * by INFLUX_RETENTION_POLICY, else the database's default), read from InfluxDB at start and
 * again every minute. Until it has been read, or when InfluxDB cannot tell (down, a v2 bucket
 * without a DBRP mapping), there is no bound here: InfluxDB itself refuses a point older than
 * its retention, and such an event is answered 400, never 2xx (docs/API.md, "Event time").
 */
@Injectable()
export class RetentionBound implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RetentionBound.name);
  private policy?: RetentionPolicy;
  private timer?: NodeJS.Timeout;
  private warned = false;

  constructor(
    private readonly influx: InfluxService,
    @Inject(influxConfig.KEY) private readonly config: InfluxConfig,
  ) {}

  onModuleInit(): void {
    // Not awaited: InfluxDB may come up after the service.
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The policy and its duration (0: kept forever), once read. */
  get current(): RetentionPolicy | undefined {
    return this.policy;
  }

  async refresh(): Promise<void> {
    const answer = await targetRetentionPolicy(
      this.influx,
      this.config.database,
      this.config.retentionPolicy,
    );
    if (answer.kind === 'ok') {
      this.policy = answer.value;
      this.warned = false;
      return;
    }
    if (!this.warned) {
      this.warned = true;
      this.logger.warn(
        `retention policy not read (${describeFailure(answer)}): old event times are left to InfluxDB to refuse`,
      );
    }
  }
}
