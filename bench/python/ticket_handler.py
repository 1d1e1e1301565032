"""ticket-processor's work, written the way a Powertools for AWS Lambda (Python) user would.

The benchmark's Python contender: the same per-record work as the Rust ticket-processor, on the
same emulator, so the two can be compared call for call.

Per SQS record, under Powertools' idempotency (``idempotent_function``, DynamoDB persistence
layer, key = the record's messageId, payload validation on the body):
1. parse and validate the ticket request (eventId, userId: 1-128 of [A-Za-z0-9._:-]);
2. one TransactWriteItems: put the ticket if absent, increment the event's ``issued`` if below
   ``capacity``, both with ReturnValuesOnConditionCheckFailure=ALL_OLD so a cancellation says
   why without a read (already issued, sold out, unknown event);
3. one SendMessage of the notification to notification-queue (FIFO-aware, deterministic
   notificationId);
4. one structured log line.

Powertools' ``BatchProcessor`` turns record failures into ``batchItemFailures``.

Run by ``awslambdaric`` (``python -m awslambdaric ticket_handler.handler``), as AWS's Python
base images do. Configuration: TICKETS_TABLE_NAME, NOTIFICATION_QUEUE_URL,
IDEMPOTENCY_TABLE_NAME, and AWS_ENDPOINT_URL for the emulator.
"""

import datetime
import hashlib
import json
import os
import random
import re
import uuid

import boto3
from botocore.exceptions import ClientError

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

TICKETS_TABLE = os.environ["TICKETS_TABLE_NAME"]
NOTIFICATION_QUEUE_URL = os.environ["NOTIFICATION_QUEUE_URL"]
IDEMPOTENCY_TABLE = os.environ["IDEMPOTENCY_TABLE_NAME"]
# 14 days, as the Rust workers keep theirs: the longest SQS retention.
EXPIRES_AFTER_SECONDS = int(os.environ.get("IDEMPOTENCY_EXPIRES_AFTER_SECONDS", "1209600"))

# The event's seats on K counters (events/seed/README.md): with K = 1 the event item counts and the
# tickets share its partition; with K > 1 a ticket takes a seat from a counter drawn at random.
# The benchmark's counters never fill (each has millions of seats), so one draw is all it needs;
# a sale's handler would try the other counters before answering sold out, as ticket-processor does.
EVENT_SHARDS = int(os.environ.get("EVENT_SHARDS", "1"))

ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
MAX_BODY_BYTES = 64 * 1024

logger = Logger(service="ticket-processor-powertools")
dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
processor = BatchProcessor(event_type=EventType.SQS)
persistence = DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE, boto3_client=dynamodb)
config = IdempotencyConfig(
    event_key_jmespath="messageId",
    payload_validation_jmespath="body",
    expires_after_seconds=EXPIRES_AFTER_SECONDS,
    raise_on_no_idempotency_key=True,
)


class InvalidTicketRequest(ValueError):
    pass


def parse_request(record: SQSRecord) -> dict:
    body = record.body or ""
    if len(body.encode()) > MAX_BODY_BYTES:
        raise InvalidTicketRequest(f"message {record.message_id}: body over {MAX_BODY_BYTES} bytes")
    try:
        request = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidTicketRequest(f"message {record.message_id}: body is not JSON: {error}") from error
    for field in ("eventId", "userId"):
        value = request.get(field)
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise InvalidTicketRequest(f"message {record.message_id}: invalid {field}")
    return request


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ticket_from_item(item: dict) -> dict:
    return {
        "ticketId": item["ticketId"]["S"],
        "eventId": item["eventId"]["S"],
        "userId": item["userId"]["S"],
        "issuedAt": item["issuedAt"]["S"],
        "messageId": item["messageId"]["S"],
    }


def ticket_key(event_id: str, user_id: str) -> dict:
    if EVENT_SHARDS == 1:
        return {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": f"TICKET#{user_id}"}}
    return {"pk": {"S": f"EVENT#{event_id}#TICKET#{user_id}"}, "sk": {"S": "TICKET"}}


def counter_key(event_id: str) -> dict:
    if EVENT_SHARDS == 1:
        return {"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "META"}}
    shard = random.randrange(EVENT_SHARDS)
    return {"pk": {"S": f"EVENT#{event_id}#SHARD#{shard}"}, "sk": {"S": "COUNTER"}}


def issue(request: dict, message_id: str) -> tuple[str, dict | None]:
    """('issued' | 'already-issued', ticket) or ('sold-out', None)."""
    ticket = {
        "ticketId": str(uuid.uuid4()),
        "eventId": request["eventId"],
        "userId": request["userId"],
        "issuedAt": now_rfc3339(),
        "messageId": message_id,
    }
    item = {name: {"S": value} for name, value in ticket.items()}
    item.update(ticket_key(request["eventId"], request["userId"]))
    try:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": TICKETS_TABLE,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {
                    "Update": {
                        "TableName": TICKETS_TABLE,
                        "Key": counter_key(request["eventId"]),
                        "UpdateExpression": "SET #issued = #issued + :one",
                        "ConditionExpression": "attribute_exists(pk) AND #issued < #capacity",
                        "ExpressionAttributeNames": {"#issued": "issued", "#capacity": "capacity"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
        return "issued", ticket
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons", [])
        ticket_reason = reasons[0] if reasons else {}
        event_reason = reasons[1] if len(reasons) > 1 else {}
        if ticket_reason.get("Code") == "ConditionalCheckFailed" and "Item" in ticket_reason:
            return "already-issued", ticket_from_item(ticket_reason["Item"])
        if event_reason.get("Code") == "ConditionalCheckFailed" and "Item" in event_reason:
            return "sold-out", None
        raise RuntimeError(f"message {message_id}: ticket transaction cancelled: {reasons}") from error


def notification_for(request: dict, outcome: str, ticket: dict | None) -> dict:
    if ticket is not None:
        notification = {
            "notificationId": f"ticket-issued#{ticket['ticketId']}",
            "kind": "ticket-issued",
            "eventId": ticket["eventId"],
            "userId": ticket["userId"],
            "ticketId": ticket["ticketId"],
            "issuedAt": ticket["issuedAt"],
        }
    else:
        notification = {
            "notificationId": f"sold-out#{request['eventId']}#{request['userId']}",
            "kind": "sold-out",
            "eventId": request["eventId"],
            "userId": request["userId"],
        }
    for optional in ("contact", "locale"):
        if request.get(optional) is not None:
            notification[optional] = request[optional]
    return notification


def enqueue(notification: dict) -> None:
    arguments = {"QueueUrl": NOTIFICATION_QUEUE_URL, "MessageBody": json.dumps(notification)}
    if NOTIFICATION_QUEUE_URL.endswith(".fifo"):
        notification_id = notification["notificationId"]
        if len(notification_id) > 128:
            notification_id = "sha256:" + hashlib.sha256(notification_id.encode()).hexdigest()
        arguments["MessageGroupId"] = notification["userId"]
        arguments["MessageDeduplicationId"] = notification_id
    sqs.send_message(**arguments)


def masked(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


@idempotent_function(data_keyword_argument="record", config=config, persistence_store=persistence)
def process_ticket_request(record: SQSRecord) -> dict:
    request = parse_request(record)
    outcome, ticket = issue(request, record.message_id)
    notification = notification_for(request, outcome, ticket)
    enqueue(notification)
    contact = request.get("contact") or {}
    logger.info(
        "ticket request handled; notification enqueued",
        extra={
            "message_id": record.message_id,
            "event_id": request["eventId"],
            "user_id": request["userId"],
            "outcome": outcome,
            "ticket_id": ticket["ticketId"] if ticket else None,
            "notification_id": notification["notificationId"],
            "email": masked(contact.get("email")),
            "push": bool(contact.get("pushEndpointArn")),
        },
    )
    return {
        "outcome": outcome,
        "ticketId": ticket["ticketId"] if ticket else None,
        "notificationId": notification["notificationId"],
    }


def record_handler(record: SQSRecord) -> dict:
    return process_ticket_request(record=record)


def handler(event: dict, context) -> dict:
    config.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
