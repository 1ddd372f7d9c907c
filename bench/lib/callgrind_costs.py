#!/usr/bin/env python3
"""Instructions per call, by component, from callgrind dumps (bench/costs.sh).

    callgrind_costs.py <calls> <callgrind.out>   -> one JSON object on stdout

The dump must cover exactly <calls> calls (costs.sh zeroes the counters after the warm-up and
dumps after the measured calls). `per_call` is the dump's whole instruction count (every thread
of the server: gRPC, the runtime, the service, its background threads) divided by <calls>.

A component's cost is the inclusive cost of every call that enters one of its functions from a
function outside it (callgrind's call edges: callee in the component, caller not), so a
component is counted once however deep its own functions call each other; for the interceptor,
less what its calls to Proceed() run (the rest of the call, handler included), and for the
handler wrapper's observation of unary calls (unary_call.h, counted with the interceptor) less
the handler it runs and the Finish it hands the status to. Components may nest:
the interceptor's cost includes the metrics and logging it does, and parsing/serialisation
include what protobuf does for the service's own stores. Only user-space instructions are
counted (callgrind does not see the kernel: syscalls, fsync and the network are not in here).
"""
import json
import re
import sys

# Patterns match a function's qualified name alone (base_name: no return type, template
# arguments or parameters), so a lambda whose parameter list names prometheus:: is not metrics.
COMPONENTS = {
    # The call's observation: gRPC's interceptor in older builds, the handler wrapper's since
    # (runtime/server/unary_call.h, observed_methods.h: the same per-call work).
    "interceptors": r"ObservabilityInterceptor|^dorset::runtime::(?:UnaryCall|UnaryHandle|ObservedUnaryHandler|ObservedHandler|ObservedMethod|StreamCall|CallObserver)::",
    "gate_auth": r"^dorset::runtime::CallGate::",
    "parsing": r"::Deserialize$|^grpc::GenericDeserialize$|^google::protobuf::MessageLite::Parse",
    "serialisation": r"^grpc::GenericSerialize$|^google::protobuf::MessageLite::(?:Serialize|AppendTo)",
    "json": r"^google::protobuf::(?:util|json_internal)::",
    "hashing": r"SHA256|^EVP_Digest|^HMAC|^dorset::runtime::(?:RequestHash|Sha256Hex)$",
    "sql": r"^sqlite3_|^PQ[a-z]|^pq[A-Z]",
    "logging": r"^(?:dorset::runtime::log::|spdlog::)",
    "metrics": r"^prometheus::",
    "audit": r"^dorset::runtime::AuditLog::",
}
PATTERNS = {name: re.compile(rx) for name, rx in COMPONENTS.items()}
# Calls out of a component that are not its own work: an interceptor's Proceed() runs the rest of
# the call (the next hook, the handler) inside it, so that call's cost is taken back out; the
# handler wrapper's Deserialize runs gRPC's (the request's parsing, counted under "parsing").
NOT_OWN = {
    "interceptors": re.compile(r"InterceptorBatchMethodsImpl::Proceed$|ContinueRunAfterInterception$"
                               r"|::RunHandler$|^grpc::ServerUnaryReactor::Finish$"
                               r"|^grpc::internal::Callback\w*Handler::Deserialize$"),
}


def base_name(name):
    """'grpc::Status grpc::GenericSerialize<A, B>(x, y) const' -> 'grpc::GenericSerialize'."""
    name = re.sub(r"'\d+$", "", (name or "").replace("(anonymous namespace)", "{anonymous}"))
    out, depth = [], 0
    for i, ch in enumerate(name):
        if ch == "<" and not name[:i].endswith("operator"):
            depth += 1
        elif ch == ">" and depth > 0 and not name[:i].endswith("operator-"):
            depth -= 1
        elif ch == "(" and depth == 0:
            if name[:i].endswith("operator"):
                out.append("()")
            break
        elif depth == 0:
            out.append(ch)
    words = "".join(out).split(" ")
    return words[-1] if words else ""


NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")


def parse(path):
    """Returns (summary, edges): edges is a list of (caller name, callee name, inclusive Ir)."""
    names = {}  # compressed id -> name, for fn/cfn (one id space)
    summary = None
    edges = []
    caller = callee = None
    pending_call = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                caller = resolve(names, line[3:])
            elif line.startswith("cfn="):
                callee = resolve(names, line[4:])
            elif line.startswith("calls="):
                pending_call = True
            elif line.startswith("summary:"):
                summary = int(line.split()[1])
            elif pending_call and line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                edges.append((caller, callee, int(parts[1]) if len(parts) > 1 else 0))
                pending_call = False
    return summary, edges


def resolve(names, spec):
    m = NAMED.match(spec)
    if not m:
        return spec
    if m.group(2) is not None:
        names[m.group(1)] = m.group(2)
    return names.get(m.group(1), spec)


def main():
    calls, path = int(sys.argv[1]), sys.argv[2]
    summary, edges = parse(path)
    if summary is None:
        sys.exit(f"{path}: no summary line (not a callgrind dump?)")
    member = {}
    def inside(name, component):
        key = (name, component)
        if key not in member:
            member[key] = bool(PATTERNS[component].search(base_name(name)))
        return member[key]
    costs = {}
    for component in COMPONENTS:
        total = sum(ir for caller, callee, ir in edges
                    if inside(callee, component) and not inside(caller, component))
        if component in NOT_OWN:
            total -= sum(ir for caller, callee, ir in edges
                         if inside(caller, component) and NOT_OWN[component].search(base_name(callee)))
        costs[component] = round(total / calls)
    print(json.dumps({"calls": calls, "per_call": round(summary / calls), "components": costs}))


if __name__ == "__main__":
    main()
