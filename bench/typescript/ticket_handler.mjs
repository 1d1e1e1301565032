// ticket-processor's work, written the way a Powertools for AWS Lambda (TypeScript) user would.
//
// The benchmark's Node.js contender: the same per-record work as the Rust ticket-processor and
// bench/python/ticket_handler.py, on the same emulator. Plain JavaScript (ES module), which is
// what Lambda runs of a TypeScript handler once it is transpiled; no build step.
//
// Per SQS record, under Powertools' idempotency (makeIdempotent, DynamoDB persistence layer,
// key = the record's messageId, payload validation on the body):
// 1. parse and validate the ticket request (eventId, userId: 1-128 of [A-Za-z0-9._:-]);
// 2. one TransactWriteItems: put the ticket if absent, increment the event's `issued` if below
//    `capacity`, both with ReturnValuesOnConditionCheckFailure=ALL_OLD;
// 3. one SendMessage of the notification to notification-queue (FIFO-aware);
// 4. one structured log line.
//
// Powertools' BatchProcessor (records in parallel) turns record failures into
// batchItemFailures. Run by aws-lambda-ric (`aws-lambda-ric ticket_handler.handler`).
// Configuration: TICKETS_TABLE_NAME, NOTIFICATION_QUEUE_URL, IDEMPOTENCY_TABLE_NAME, and
// EVENT_SHARDS (the event's counters, K; default 1), and AWS_ENDPOINT_URL for the emulator.

import { createHash, randomUUID } from 'node:crypto';

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const required = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing configuration: ${name}`);
  return value;
};

const TICKETS_TABLE = required('TICKETS_TABLE_NAME');
const NOTIFICATION_QUEUE_URL = required('NOTIFICATION_QUEUE_URL');
const IDEMPOTENCY_TABLE = required('IDEMPOTENCY_TABLE_NAME');
// 14 days, as the Rust workers keep theirs: the longest SQS retention.
const EXPIRES_AFTER_SECONDS = Number(process.env.IDEMPOTENCY_EXPIRES_AFTER_SECONDS ?? '1209600');

// The event's seats on K counters (events/seed/README.md): with K = 1 the event item counts and the
// tickets share its partition; with K > 1 a ticket takes a seat from a counter drawn at random.
// The benchmark's counters never fill (each has millions of seats), so one draw is all it needs;
// a sale's handler would try the other counters before answering sold out, as ticket-processor does.
const EVENT_SHARDS = Number(process.env.EVENT_SHARDS ?? '1');

const ticketKey = (eventId, userId) =>
  EVENT_SHARDS === 1
    ? { pk: { S: `EVENT#${eventId}` }, sk: { S: `TICKET#${userId}` } }
    : { pk: { S: `EVENT#${eventId}#TICKET#${userId}` }, sk: { S: 'TICKET' } };

const counterKey = (eventId) =>
  EVENT_SHARDS === 1
    ? { pk: { S: `EVENT#${eventId}` }, sk: { S: 'META' } }
    : { pk: { S: `EVENT#${eventId}#SHARD#${Math.floor(Math.random() * EVENT_SHARDS)}` }, sk: { S: 'COUNTER' } };

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_BODY_BYTES = 64 * 1024;

const logger = new Logger({ serviceName: 'ticket-processor-powertools-ts' });
const dynamodb = new DynamoDBClient({});
// The SDK would send each call to the QueueUrl's host when it differs from the endpoint; on AWS
// they are the same host, here the QueueUrl names moto behind the TLS front: keep the endpoint.
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const processor = new BatchProcessor(EventType.SQS);
const persistenceStore = new DynamoDBPersistenceLayer({ tableName: IDEMPOTENCY_TABLE, awsSdkV3Client: dynamodb });
const config = new IdempotencyConfig({
  eventKeyJmesPath: 'messageId',
  payloadValidationJmesPath: 'body',
  expiresAfterSeconds: EXPIRES_AFTER_SECONDS,
  throwOnNoIdempotencyKey: true,
});

class InvalidTicketRequest extends Error {}

const parseRequest = (record) => {
  const body = record.body ?? '';
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
    throw new InvalidTicketRequest(`message ${record.messageId}: body over ${MAX_BODY_BYTES} bytes`);
  }
  let request;
  try {
    request = JSON.parse(body);
  } catch (error) {
    throw new InvalidTicketRequest(`message ${record.messageId}: body is not JSON: ${error.message}`);
  }
  for (const field of ['eventId', 'userId']) {
    const value = request?.[field];
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
      throw new InvalidTicketRequest(`message ${record.messageId}: invalid ${field}`);
    }
  }
  return request;
};

const ticketFromItem = (item) => ({
  ticketId: item.ticketId.S,
  eventId: item.eventId.S,
  userId: item.userId.S,
  issuedAt: item.issuedAt.S,
  messageId: item.messageId.S,
});

// A transaction that lost a race for the event's counter (TransactionConflict: another of the
// batch's records, processed in parallel, holds it) is tried again with decorrelated jitter, as
// the Rust worker does: 10 ms base, 500 ms cap, until 3 s before the invocation's deadline.
const CONFLICT_BASE_MS = 10;
const CONFLICT_CAP_MS = 500;
const DEADLINE_MARGIN_MS = 3000;

const isConflict = (error) =>
  error.name === 'TransactionCanceledException' &&
  (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict');

const issue = async (request, messageId, context) => {
  let pause = CONFLICT_BASE_MS;
  for (;;) {
    try {
      return await issueOnce(request, messageId);
    } catch (error) {
      const remaining = context?.getRemainingTimeInMillis?.() ?? 10_000;
      if (!isConflict(error) || remaining < DEADLINE_MARGIN_MS + pause) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(CONFLICT_CAP_MS, CONFLICT_BASE_MS + Math.random() * (pause * 3 - CONFLICT_BASE_MS));
    }
  }
};

/** ['issued' | 'already-issued', ticket] or ['sold-out', null]. */
const issueOnce = async (request, messageId) => {
  const ticket = {
    ticketId: randomUUID(),
    eventId: request.eventId,
    userId: request.userId,
    issuedAt: new Date().toISOString(),
    messageId,
  };
  const item = Object.fromEntries(Object.entries(ticket).map(([name, value]) => [name, { S: value }]));
  Object.assign(item, ticketKey(request.eventId, request.userId));
  try {
    await dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: TICKETS_TABLE,
              Item: item,
              ConditionExpression: 'attribute_not_exists(pk)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Update: {
              TableName: TICKETS_TABLE,
              Key: counterKey(request.eventId),
              UpdateExpression: 'SET #issued = #issued + :one',
              ConditionExpression: 'attribute_exists(pk) AND #issued < #capacity',
              ExpressionAttributeNames: { '#issued': 'issued', '#capacity': 'capacity' },
              ExpressionAttributeValues: { ':one': { N: '1' } },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      }),
    );
    return ['issued', ticket];
  } catch (error) {
    if (error.name !== 'TransactionCanceledException' || isConflict(error)) throw error;
    const reasons = error.CancellationReasons ?? [];
    const [ticketReason = {}, eventReason = {}] = reasons;
    if (ticketReason.Code === 'ConditionalCheckFailed' && ticketReason.Item) {
      return ['already-issued', ticketFromItem(ticketReason.Item)];
    }
    if (eventReason.Code === 'ConditionalCheckFailed' && eventReason.Item) return ['sold-out', null];
    throw new Error(`message ${messageId}: ticket transaction cancelled: ${JSON.stringify(reasons)}`);
  }
};

const notificationFor = (request, ticket) => {
  const notification = ticket
    ? {
        notificationId: `ticket-issued#${ticket.ticketId}`,
        kind: 'ticket-issued',
        eventId: ticket.eventId,
        userId: ticket.userId,
        ticketId: ticket.ticketId,
        issuedAt: ticket.issuedAt,
      }
    : {
        notificationId: `sold-out#${request.eventId}#${request.userId}`,
        kind: 'sold-out',
        eventId: request.eventId,
        userId: request.userId,
      };
  for (const optional of ['contact', 'locale']) {
    if (request[optional] != null) notification[optional] = request[optional];
  }
  return notification;
};

const enqueue = async (notification) => {
  const input = { QueueUrl: NOTIFICATION_QUEUE_URL, MessageBody: JSON.stringify(notification) };
  if (NOTIFICATION_QUEUE_URL.endsWith('.fifo')) {
    let id = notification.notificationId;
    if (id.length > 128) id = `sha256:${createHash('sha256').update(id).digest('hex')}`;
    input.MessageGroupId = notification.userId;
    input.MessageDeduplicationId = id;
  }
  await sqs.send(new SendMessageCommand(input));
};

const masked = (email) => {
  if (!email || !email.includes('@')) return null;
  const [local, domain] = email.split('@', 2);
  return `${local.slice(0, 1)}***@${domain}`;
};

const processTicketRequest = async (record, options) => {
  const request = parseRequest(record);
  const [outcome, ticket] = await issue(request, record.messageId, options?.context);
  const notification = notificationFor(request, ticket);
  await enqueue(notification);
  const contact = request.contact ?? {};
  logger.info('ticket request handled; notification enqueued', {
    message_id: record.messageId,
    event_id: request.eventId,
    user_id: request.userId,
    outcome,
    ticket_id: ticket?.ticketId ?? null,
    notification_id: notification.notificationId,
    email: masked(contact.email),
    push: Boolean(contact.pushEndpointArn),
  });
  return { outcome, ticketId: ticket?.ticketId ?? null, notificationId: notification.notificationId };
};

const recordHandler = makeIdempotent(processTicketRequest, { persistenceStore, config });

export const handler = async (event, context) => {
  config.registerLambdaContext(context);
  return processPartialResponse(event, recordHandler, processor, { context });
};
