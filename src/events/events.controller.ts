import { Body, Controller, Get, Header, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiBodyRefusals, ApiRetryLater, ApiTokenAuth } from '../openapi/openapi.decorators';
import { EVENT_STATUS, ref } from '../openapi/schemas';
import { eventJson } from './event-json';
import { BatchResult, EventsService, type Kept } from './events.service';
import { Refusal } from '../http/refusal';

/** 200 once InfluxDB stored it all, 202 once (some of) it waits in the durable spool. */
function status(res: Response, outcome: Kept): void {
  res.status(outcome === 'spooled' ? 202 : 200);
}

@ApiTokenAuth()
@Controller('log')
// POST bodies are read by the global JsonBodyGuard, after the TokenGuard: no token (or no
// scope, or no rate left), no body read (docs/DEVELOPMENT.md, "Architecture").
export class EventsController {
  constructor(private readonly events: EventsService) {}

  /**
   * The original's route (README "The API"): an object is one event, an array is points. Both answer
   * a bare JSON string, serialised here: Express would send a returned string as text/html.
   */
  @Post('event')
  @HttpCode(200)
  @Header('Content-Type', 'application/json; charset=utf-8')
  @ApiOperation({
    operationId: 'logEvent',
    summary: 'Log one event (object body) or points (array body)',
    description:
      'The two generations of clients, told apart by the JSON type of the body: an object is ' +
      'one event (1.0), an array is points (1.1).',
  })
  @ApiBody({
    required: true,
    schema: { oneOf: [ref('Event'), ref('Points')] },
    examples: {
      event: {
        summary: 'one event (1.0)',
        value: { event: 'pnc.test', uid: 'oisin', now: '2016-07-12T10:52:11.123456' },
      },
      points: {
        summary: 'points (1.1)',
        value: [{ measurement: 'restarts', tags: { host: 'web-1' }, fields: { count: 1 } }],
      },
    },
  })
  @ApiOkResponse({
    description: 'Stored in InfluxDB: the event id, or "OK" for points.',
    schema: ref('LogReply'),
    examples: {
      event: { summary: 'an event', value: 'entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61' },
      points: { summary: 'points', value: 'OK' },
    },
  })
  @ApiAcceptedResponse({
    description:
      'Kept in the durable spool (InfluxDB unreachable, failing or slower than ' +
      'WRITE_DEADLINE_MS); it will be stored. Same body as the 200.',
    schema: ref('LogReply'),
  })
  @ApiBodyRefusals(
    'The body, a key or a value is refused (for points, `index` names the element and nothing ' +
      'of the array is stored), or a field type conflict.',
    'The body is larger than MAX_BODY_BYTES after decompression.',
  )
  async log(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<string> {
    if (Array.isArray(body)) {
      status(res, (await this.events.logPoints(body)).outcome);
      return JSON.stringify('OK');
    }
    if (typeof body === 'object' && body !== null) {
      const { id, outcome, duplicate } = await this.events.logEvent(
        body as Record<string, unknown>,
      );
      status(res, outcome);
      // A resend of a client event_id seen within DEDUP_WINDOW_HOURS: stored once.
      if (duplicate) res.setHeader('X-Event-Duplicate', 'true');
      return JSON.stringify(id);
    }
    throw new Refusal('', 'the body must be a JSON object (an event) or an array (points)');
  }

  /** Many events in one request, each accepted or rejected on its own. */
  @Post('events')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'logEvents',
    summary: 'Log many events, each accepted or rejected on its own',
  })
  @ApiBody({ required: true, schema: ref('EventBatch') })
  @ApiOkResponse({
    description: 'Every event kept was stored in InfluxDB.',
    schema: ref('BatchResult'),
  })
  @ApiAcceptedResponse({
    description: 'Some of the events kept wait in the durable spool. Same body as the 200.',
    schema: ref('BatchResult'),
  })
  @ApiBodyRefusals(
    'The body is not an array, or no event of it is valid (with `event_ids` and `rejected`).',
    'The body is larger than MAX_BODY_BYTES, or holds more than MAX_BATCH_EVENTS events.',
  )
  async logMany(
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<BatchResult> {
    if (!Array.isArray(body)) throw new Refusal('', 'the body must be a JSON array of events');
    const { result, outcome } = await this.events.logEvents(body);
    status(res, outcome);
    return result;
  }

  /**
   * One event, with `status` "stored" or "queued" (still in the spool). An event with a
   * `status` key of its own keeps it; `X-Event-Status` always says where the event is.
   */
  @Get('event/:id')
  @Header('Content-Type', 'application/json; charset=utf-8')
  @ApiOperation({ operationId: 'getEvent', summary: 'Read one event back' })
  @ApiParam({
    name: 'id',
    description:
      'The event id, trimmed. `entry_` ids match whatever their case, client-made ids exactly.',
    schema: { type: 'string' },
    example: 'entry_2d1c0ae39a6a4c0e9f5b8f2a1b0c7d61',
  })
  @ApiOkResponse({
    description: 'The event, stored in InfluxDB or queued in the spool.',
    headers: { 'X-Event-Status': EVENT_STATUS },
    schema: ref('StoredEvent'),
  })
  @ApiNotFoundResponse({
    description:
      'No event with that id, or not an event id. An id that carries no time (not made by ' +
      'the server, not a UUIDv7) is looked for only within the last EVENT_READ_WINDOW_HOURS.',
    schema: ref('HttpError'),
  })
  @ApiRetryLater('InfluxDB is unavailable and the spool does not hold the event.')
  async find(@Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<string> {
    const { event, status } = await this.events.findEvent(id);
    res.setHeader('X-Event-Status', status);
    // Serialised here: integers stored beyond ±2^53 are bigints, written as their digits.
    return eventJson({ status, ...event });
  }
}
