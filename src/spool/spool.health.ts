import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { spoolConfig, SpoolConfig } from './spool.config';
import { SpoolService } from './spool.service';

/**
 * Readiness of the spool: down from the first event it refused for lack of room
 * (SPOOL_MAX_BYTES) until it has drained below SPOOL_LOW_WATER_BYTES.
 */
@Injectable()
export class SpoolHealthIndicator {
  constructor(
    private readonly spool: SpoolService,
    private readonly health: HealthIndicatorService,
    @Inject(spoolConfig.KEY) private readonly config: SpoolConfig,
  ) {}

  isHealthy(key: string) {
    const indicator = this.health.check(key);
    const details = {
      bytes: this.spool.bytes,
      records: this.spool.pendingRecords,
      maxBytes: this.config.maxBytes,
    };
    if (this.spool.full) return indicator.down({ ...details, message: 'spool full; draining' });
    return indicator.up(details);
  }
}
