"""Create an event item in the tickets table: EVENT#<event-id> / META with capacity and issued = 0.

    python events/seed/seed_event.py --table <tickets table> --event-id concert-2026 --capacity 100

Uses boto3's usual configuration: AWS_ENDPOINT_URL points it at a local emulator (moto), the
region and credentials come from the environment. Safe to run again: an existing event is left as
it is (resetting `issued` on a live event would let it sell more seats than it has), and the script
says so and exits 0.
"""

import argparse
import re
import sys

import boto3
from botocore.exceptions import ClientError

ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the tickets table (TICKETS_TABLE_NAME)")
    parser.add_argument("--event-id", required=True, help="1-128 characters of [A-Za-z0-9._:-]")
    parser.add_argument("--capacity", required=True, type=int, help="seats, 0 or more")
    args = parser.parse_args()
    if not ID.match(args.event_id):
        parser.error(f"--event-id {args.event_id!r} must be 1-128 characters of [A-Za-z0-9._:-]")
    if args.capacity < 0:
        parser.error("--capacity must be 0 or more")

    table = boto3.client("dynamodb")
    try:
        table.put_item(
            TableName=args.table,
            Item={
                "pk": {"S": f"EVENT#{args.event_id}"},
                "sk": {"S": "META"},
                "capacity": {"N": str(args.capacity)},
                "issued": {"N": "0"},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        print(f"event {args.event_id} already exists in {args.table}; left unchanged")
        return 0
    print(f"event {args.event_id} created in {args.table} with capacity {args.capacity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
