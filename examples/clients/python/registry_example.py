#!/usr/bin/env python3
"""A small Python client of the Dorset Digital registry (docs/clients.md).

Run it with Debian's Python and grpcio (apt install python3-grpcio python3-protobuf) after generating the stubs:
    examples/clients/python/generate.sh /tmp/dorset-py
    PYTHONPATH=/tmp/dorset-py DORSET_TOKEN=... python3 registry_example.py 127.0.0.1:50051
It checks health, lists every locality page by page, and shows how an error arrives (a missing practice is
NOT_FOUND). Add --expect-localities N to make it exit non-zero when the count differs (the project's test does).
"""
import argparse
import os
import sys

import grpc

from dorset.registry.v1 import registry_pb2, registry_pb2_grpc
from dorset_grpc_health.v1 import health_pb2, health_pb2_grpc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="host:port of the registry's gRPC listener")
    parser.add_argument("--expect-localities", type=int, default=None)
    args = parser.parse_args()

    token = os.environ.get("DORSET_TOKEN", "")
    # scripts/run listens in plaintext on loopback; against TLS use grpc.secure_channel with
    # grpc.ssl_channel_credentials(root_certificates=open(ca_file, "rb").read()).
    with grpc.insecure_channel(args.target) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        auth = [("authorization", f"Bearer {token}")]

        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        print("health:", health_pb2.HealthCheckResponse.ServingStatus.Name(status.status))

        registry = registry_pb2_grpc.RegistryServiceStub(channel)
        localities, token_ = [], ""
        while True:
            page = registry.ListLocalities(
                registry_pb2.ListLocalitiesRequest(page_size=5, page_token=token_),
                metadata=auth, timeout=10)
            localities.extend(page.localities)
            token_ = page.next_page_token
            if not token_:
                break
        for locality in localities:
            print(f"{locality.name}\t{locality.display_name}")
        print("localities:", len(localities))

        try:
            registry.GetPractice(registry_pb2.GetPracticeRequest(name="practices/Z99999"),
                                 metadata=auth, timeout=10)
            print("GetPractice(practices/Z99999) unexpectedly succeeded")
            return 1
        except grpc.RpcError as error:
            print("GetPractice(practices/Z99999):", error.code().name, "-", error.details())
            if error.code() != grpc.StatusCode.NOT_FOUND:
                return 1

    if status.status != health_pb2.HealthCheckResponse.SERVING:
        return 1
    if args.expect_localities is not None and len(localities) != args.expect_localities:
        print(f"expected {args.expect_localities} localities, got {len(localities)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
