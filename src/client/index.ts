/** The public API of `stats-service/client`: a Node client with no dependency beyond Node itself. */
export { Analytics, type PingReply } from './analytics';
export type { AnalyticsOptions, DropReason } from './analytics.options';
export type { DropPolicy } from './event-queue';
export { StatsError, type StatsErrorDetails, type StatsErrorKind } from './stats-error';
export type { EventData, StatsEvent, StatsValue } from './stats-event';
