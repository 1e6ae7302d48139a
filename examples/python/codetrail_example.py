#!/usr/bin/python3
"""A codetrail client in Python with Debian's grpcio and protobuf.

(1) one Search page, (2) a Subscribe from the start of history that prints
the replayed events and stops at caught_up.

    /usr/bin/python3 codetrail_example.py ADDR QUERY
    e.g. /usr/bin/python3 codetrail_example.py 127.0.0.1:7000 'errorCode:*'

Output, one line each (examples_test.go reads it):
    search total=N
    search TIME EVENTSOURCE EVENTNAME          (the newest few)
    subscribe TIME EVENTSOURCE EVENTNAME       (every stored match, store order)
    subscribe progress cursor=C                (if the replay is slow)
    subscribe caught_up events=N cursor=C
Errors go to standard error with the gRPC status; the exit code is then 1.

The stubs in gen/ come from proto/ through generate.sh.
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402

from codetrail.v1 import event_pb2, event_service_pb2, event_service_pb2_grpc  # noqa: E402

SEARCH_PAGE = 5
# A Subscribe never ends by itself; this bounds the replay in case the
# server never says caught_up.
SUBSCRIBE_DEADLINE_S = 60


def format_time(ts):
    """A google.protobuf.Timestamp to the second, in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts.seconds))


def line(e):
    return f"{format_time(e.event_time)} {e.event_source} {e.event_name}"


def search(stub, query):
    res = stub.Search(
        event_service_pb2.SearchRequest(
            query=query, page_size=SEARCH_PAGE, view=event_pb2.EVENT_VIEW_SUMMARY
        ),
        timeout=30,
    )
    print(f"search total={res.total_hits}")
    for e in res.events:
        print(f"search {line(e)}")


def subscribe(stub, query):
    stream = stub.Subscribe(
        event_service_pb2.SubscribeRequest(
            query=query, from_start=True, view=event_pb2.EVENT_VIEW_SUMMARY
        ),
        timeout=SUBSCRIBE_DEADLINE_S,
    )
    events = 0
    try:
        for msg in stream:
            kind = msg.WhichOneof("message")
            if kind == "event":
                events += 1
                print(f"subscribe {line(msg.event)}")
            elif kind == "progress":
                print(f"subscribe progress cursor={msg.progress.cursor}")
            elif kind == "caught_up":
                print(f"subscribe caught_up events={events} cursor={msg.caught_up.cursor}")
                # Live events would follow; this example stops here.
                return
        raise RuntimeError("subscribe: stream ended before caught_up")
    finally:
        stream.cancel()


def main(argv):
    if len(argv) != 3:
        print("usage: codetrail_example.py ADDR QUERY", file=sys.stderr)
        return 2
    addr, query = argv[1], argv[2]
    with grpc.insecure_channel(addr) as channel:
        stub = event_service_pb2_grpc.EventServiceStub(channel)
        try:
            search(stub, query)
            subscribe(stub, query)
        except grpc.RpcError as err:
            # Status code by name, as grpcurl prints it.
            print(f"codetrail_example.py: {err.code().name}: {err.details()}", file=sys.stderr)
            return 1
        except RuntimeError as err:
            print(f"codetrail_example.py: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    # Output piped into `head` that closes early: stop quietly, as Unix tools do.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main(sys.argv))
