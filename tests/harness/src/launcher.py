# moto's server as the tests and runs use it: started on a free loopback port (printed on the
# first line of stdout), stopped when stdin closes. Four patches make moto behave as AWS does
# where it matters to us, or fast enough to measure anything; none changes what an API answers.
import copy
import logging
import sys
import threading
import time

logging.getLogger("werkzeug").setLevel(logging.ERROR)

# 1. Serialised DynamoDB. moto 5.2.5 runs TransactWriteItems as snapshot, evaluate, write,
# restore-on-cancel, without a lock: concurrent requests interleave and break atomicity (more
# tickets than seats). DynamoDB serialises conflicting transactions; serialising moto's DynamoDB
# requests restores that. SQS and the other services stay concurrent (long polls must not block
# each other).
from moto.dynamodb.responses import DynamoHandler

_dynamodb_lock = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialised_call_action(self):
    with _dynamodb_lock:
        return _call_action(self)


DynamoHandler.call_action = _serialised_call_action

# 2. Transactions snapshot the items they touch, not their tables. moto deep-copies every table a
# TransactWriteItems names before applying it, to restore them if it is cancelled: with a few
# thousand tickets in the table, each ticket's transaction took 200 ms of copying. The snapshot
# below keeps exactly the items the transaction's actions name (all of them, before any is
# applied) and puts them back on any failure, which is all a restore can change; the original
# method then runs with its table copies turned into no-ops. Tables with a stream keep moto's full
# copy (a cancelled transaction must not leave stream records behind).
import moto.dynamodb.models as _dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_snapshotting = threading.local()


class _TablesNotCopied:
    """moto.dynamodb.models' `copy`, except that a Table is not copied while a transaction runs."""

    def __getattr__(self, name):
        return getattr(copy, name)

    def deepcopy(self, value, memo=None):
        if isinstance(value, Table) and getattr(_snapshotting, "items", False):
            return value
        return copy.deepcopy(value, memo)


_dynamodb_models.copy = _TablesNotCopied()
_transact_write_items = DynamoDBBackend.transact_write_items


def _touched_items(backend, transact_items):
    """(table, hash, range) -> a copy of the item (None: absent); None if a table has a stream."""
    touched = {}
    for action in transact_items:
        for op in action.values():
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            if table.stream_shard is not None:
                return None
            attributes = op.get("Item") if "Item" in op else op.get("Key")
            if not attributes or table.hash_key_attr not in attributes:
                continue
            hash_key = DynamoType(attributes[table.hash_key_attr])
            range_key = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in attributes:
                    continue
                range_key = DynamoType(attributes[table.range_key_attr])
            item = table.get_item(hash_key, range_key)
            touched[(op["TableName"], hash_key, range_key)] = copy.deepcopy(item)
    return touched


def _restore(backend, touched):
    for (table_name, hash_key, range_key), item in touched.items():
        items = backend.tables[table_name].items
        if range_key is None:
            if item is None:
                items.pop(hash_key, None)
            else:
                items[hash_key] = item
        elif item is None:
            items[hash_key].pop(range_key, None)
        else:
            items[hash_key][range_key] = item


def _transact_write_items_by_item(self, transact_items):
    touched = _touched_items(self, transact_items)
    if touched is None:
        return _transact_write_items(self, transact_items)
    _snapshotting.items = True
    try:
        return _transact_write_items(self, transact_items)
    except BaseException:
        _restore(self, touched)
        raise
    finally:
        _snapshotting.items = False


DynamoDBBackend.transact_write_items = _transact_write_items_by_item

# 3. SQS receives that do not slow down with queue depth. For every message it returns,
# ReceiveMessage asked for the queue's retention period through get_queue_attributes, which
# computes every attribute, three of them counting the whole queue: with a thousand messages in
# flight, a receive of ten took over half a second. The retention period is read directly here,
# and "now" is time.time() rather than a datetime subtraction per message; the values are the same.
import moto.sqs.models as _sqs_models

_unix_time = _sqs_models.unix_time
_unix_time_millis = _sqs_models.unix_time_millis


def _now(dt=None):
    return time.time() if dt is None else _unix_time(dt)


def _now_millis(dt=None):
    return time.time() * 1000.0 if dt is None else _unix_time_millis(dt)


def _retained(self, queue_name, message):
    retention_period = self.get_queue(queue_name).message_retention_period
    return retention_period + message.sent_timestamp / 1000 > _now()


_sqs_models.unix_time = _now
_sqs_models.unix_time_millis = _now_millis
_sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retained

# 4. Routing a request to its service without listing moto's package directory. For every
# request, moto's dispatcher looks up the backend of the host it inferred from the request (e.g.
# dynamodb.us-east-1.amazonaws.com) under one process-wide lock, and that lookup lists moto's
# package directory (one stat per service, some 200) before trying every service's URL patterns.
# The answer depends on the host alone and moto's code does not change while it runs: it is kept
# per host after the first lookup. Hosts without a backend are not kept (moto logs them).
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_get_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backend_for_host = {}


def _known_backend_for_host(self, host):
    if host is None:
        return None
    backend = _backend_for_host.get(host)
    if backend is None:
        backend = _get_backend_for_host(self, host)
        if backend is not None:
            _backend_for_host[host] = backend
    return backend


DomainDispatcherApplication.get_backend_for_host = _known_backend_for_host

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
