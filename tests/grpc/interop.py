"""Interop: a gRPC client that is not ours (Python grpcio) against the gateway's gRPC listener.

It knows no generated code: the services and messages come from the server's reflection
(v1alpha, what grpcio-reflection speaks), health from grpcio-health-checking, and error details
are decoded with grpcio-status. Usage: interop.py HOST:PORT JOB. Prints one JSON object with what
it saw; the Rust test (tests/e2e/grpc/interop.rs) asserts on it. Exit 0 unless a step failed.
"""

import json
import sys
import time

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_status import rpc_status

SERVICE = "blaxel.jobs.v1.JobExecutionService"


def main() -> None:
    target, job = sys.argv[1], sys.argv[2]
    seen = {}
    with grpc.insecure_channel(target) as channel:
        # Health: SERVING once the upstream answered (bounded wait).
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 20
        while True:
            answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            if answer.status == health_pb2.HealthCheckResponse.SERVING or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        seen["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)

        # Reflection: list the services, then build the messages from the descriptors.
        database = ProtoReflectionDescriptorDatabase(channel)
        seen["services"] = sorted(database.get_services())
        pool = descriptor_pool.DescriptorPool(database)
        service = pool.FindServiceByName(SERVICE)
        method = service.methods_by_name["ListJobExecutions"]
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{SERVICE}/ListJobExecutions",
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )

        # Two pages, following next_page_token.
        ids, token, pages = [], "", 0
        while pages < 2:
            page = call(
                request_class(parent=f"jobs/{job}", page_size=5, page_token=token), timeout=10
            )
            pages += 1
            if pages == 1 and page.job_executions:
                seen["first"] = json_format.MessageToDict(page.job_executions[0])
            ids += [e.id for e in page.job_executions]
            seen["total_size"] = page.total_size
            token = page.next_page_token
            if not token:
                break
        seen["ids"] = ids

        # An error with its details: a token used with other arguments.
        try:
            call(request_class(parent=f"jobs/{job}", page_size=5, page_token=token, order_by="name"), timeout=10)
            seen["error"] = None
        except grpc.RpcError as err:
            status = rpc_status.from_call(err)
            info = error_details_pb2.ErrorInfo()
            bad = error_details_pb2.BadRequest()
            reason, field = None, None
            for detail in status.details if status else []:
                if detail.Unpack(info):
                    reason = info.reason
                elif detail.Unpack(bad):
                    field = bad.field_violations[0].field
            seen["error"] = {"code": err.code().name, "reason": reason, "field": field}
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
