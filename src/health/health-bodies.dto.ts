import { ApiProperty, ApiSchema } from '@nestjs/swagger';

const UP_DOWN = ['up', 'down'];

@ApiSchema({ name: 'Liveness', description: 'These three keys first; more may follow.' })
export class LivenessDto {
  @ApiProperty({ enum: ['ok'] })
  status!: 'ok';

  @ApiProperty({ enum: ['stats-service'] })
  name!: 'stats-service';

  /** The version in package.json. */
  version!: string;
}

@ApiSchema({ name: 'ShutdownCheck', description: 'Down from SIGTERM on.' })
export class ShutdownCheckDto {
  @ApiProperty({ enum: UP_DOWN })
  status!: string;

  message?: string;
}

@ApiSchema({
  name: 'InfluxCheck',
  description:
    'Up when InfluxDB answers its ping within 2 s and takes the credentials; `message` says what is wrong, naming the variables to fix (never their values).',
})
export class InfluxCheckDto {
  @ApiProperty({ enum: UP_DOWN })
  status!: string;

  /** The write API (INFLUX_API). */
  @ApiProperty({ enum: ['v1', 'v2'] })
  mode!: string;

  message?: string;
}

@ApiSchema({
  name: 'SpoolCheck',
  description:
    'Down from the first event refused for lack of room (SPOOL_MAX_BYTES) until the spool has drained below SPOOL_LOW_WATER_BYTES.',
})
export class SpoolCheckDto {
  @ApiProperty({ enum: UP_DOWN })
  status!: string;

  @ApiProperty({ type: 'integer', minimum: 0 })
  bytes!: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  records!: number;

  @ApiProperty({ type: 'integer', minimum: 1 })
  maxBytes!: number;

  message?: string;
}

@ApiSchema({ name: 'ReadinessChecks' })
export class ReadinessChecksDto {
  @ApiProperty({ type: () => ShutdownCheckDto, required: false })
  shutdown?: ShutdownCheckDto;

  @ApiProperty({ type: () => InfluxCheckDto, required: false })
  influxdb?: InfluxCheckDto;

  @ApiProperty({ type: () => SpoolCheckDto, required: false })
  spool?: SpoolCheckDto;
}

@ApiSchema({
  name: 'Readiness',
  description:
    'Terminus: `info` holds the checks that are up, `error` those that are down, `details` all.',
})
export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'error'] })
  status!: string;

  @ApiProperty({ type: () => ReadinessChecksDto })
  info!: ReadinessChecksDto;

  @ApiProperty({ type: () => ReadinessChecksDto })
  error!: ReadinessChecksDto;

  @ApiProperty({ type: () => ReadinessChecksDto })
  details!: ReadinessChecksDto;
}

/** What the classes above cannot say: that no other check exists, and examples. */
export const HEALTH_BEYOND_CLASSES = {
  Liveness: { examples: [{ status: 'ok', name: 'stats-service', version: '2.0.0' }] },
  ReadinessChecks: { additionalProperties: false },
  Readiness: {
    examples: [
      {
        status: 'ok',
        info: {
          shutdown: { status: 'up' },
          influxdb: { status: 'up', mode: 'v1' },
          spool: { status: 'up', bytes: 0, records: 0, maxBytes: 1073741824 },
        },
        error: {},
        details: {
          shutdown: { status: 'up' },
          influxdb: { status: 'up', mode: 'v1' },
          spool: { status: 'up', bytes: 0, records: 0, maxBytes: 1073741824 },
        },
      },
    ],
  },
};
