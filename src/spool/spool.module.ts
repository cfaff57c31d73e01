import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { spoolConfig } from './spool.config';
import { SpoolHealthIndicator } from './spool.health';
import { SpoolService } from './spool.service';

/** The durable log only: what waits for InfluxDB, and its health. Replay lives in store/. */
@Module({
  imports: [ConfigModule.forFeature(spoolConfig), TerminusModule],
  providers: [SpoolService, SpoolHealthIndicator],
  exports: [SpoolService, SpoolHealthIndicator],
})
export class SpoolModule {}
