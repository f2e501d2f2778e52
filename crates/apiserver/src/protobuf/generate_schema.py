#!/usr/bin/env python3
"""Writes schema.txt: the field table the protobuf decoder walks.

Usage: generate_schema.py <k8s-pb checkout>/k8s-pb-codegen > schema.txt

Inputs are the Kubernetes `generated.proto` files and the OpenAPI document that the k8s-pb
crate is generated from. The protos give tags and wire types; the OpenAPI document gives the
JSON names (which differ for a few fields), which fields are required, and which message
fields are inlined into their parent in JSON.

Output format, one record a line:
  K <group>/<version> <Kind> <message>        a kind the decoder accepts
  M <message>                                 start of a message
  L <message>                                 start of a list-wrapper message (JSON array)
  F <tag> <json> <flags> <type> [<value type>] a field of the current message
Flags: r repeated, m map, i inline (fields merged into the parent), k keep zero values.
"""
import json
import os
import re
import sys

# Stable versions only: the server serves these, plus the review kinds kubectl sends.
SKIP_VERSION = re.compile(r"/v\d+(alpha|beta)\d+/")
# Pointer fields whose zero value means something (Go's JSON keeps them; absent would default).
KEEP_ZERO = {
    "replicas", "minReplicas", "revisionHistoryLimit", "progressDeadlineSeconds",
    "parallelism", "completions", "backoffLimit", "backoffLimitPerIndex", "maxFailedIndexes",
    "ttlSecondsAfterFinished", "activeDeadlineSeconds", "suspend", "manualSelector",
    "startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit",
    "terminationGracePeriodSeconds", "automountServiceAccountToken", "enableServiceLinks",
    "shareProcessNamespace", "hostUsers", "setHostnameAsFQDN", "priority", "runAsUser",
    "runAsGroup", "runAsNonRoot", "fsGroup", "privileged", "readOnlyRootFilesystem",
    "allowPrivilegeEscalation", "defaultMode", "mode", "optional", "storageClassName",
    "deletionGracePeriodSeconds", "allocateLoadBalancerNodePorts", "expirationSeconds",
    "leaseDurationSeconds", "leaseTransitions", "immutable",
    "ready", "serving", "terminating",
}
SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float",
           "sint32", "sint64", "fixed32", "fixed64"}
FIELD = re.compile(r"^\s*(optional|repeated)\s+(\S+)\s+(\w+)\s*=\s*(\d+)")
MAP = re.compile(r"^\s*map<\s*(\S+)\s*,\s*(\S+)\s*>\s+(\w+)\s*=\s*(\d+)")


def swagger_name(package, message):
    return "io.k8s." + package.replace("apiextensions_apiserver", "apiextensions-apiserver") + "." + message


def resolve(package, typ):
    if typ in SCALARS:
        return typ
    return typ[1:] if typ.startswith(".") else package + "." + typ


def json_name(name, props):
    if props is None or name in props:
        return name
    for candidate in ("$" + name, re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), name)):
        if candidate in props:
            return candidate
    folded = [p for p in props if p.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def parse(path):
    package, messages, current, comments = None, [], None, []
    for line in open(path, encoding="utf-8"):
        stripped = line.strip()
        if stripped.startswith("package "):
            package = stripped[len("package "):].rstrip(";")
        elif stripped.startswith("//"):
            comments.append(stripped)
        elif stripped.startswith("message "):
            name = stripped.split()[1]
            wrapper = any("+protobuf.nullable=true" in c for c in comments)
            current = {"package": package, "name": name, "fields": [], "wrapper": wrapper}
            messages.append(current)
            comments = []
        elif stripped == "}":
            current = None
        elif current is not None and (m := MAP.match(line)):
            key, value, name, tag = m.groups()
            current["fields"].append((int(tag), name, "m", resolve(package, key), resolve(package, value)))
            comments = []
        elif current is not None and (m := FIELD.match(line)):
            label, typ, name, tag = m.groups()
            current["fields"].append((int(tag), name, "r" if label == "repeated" else "", resolve(package, typ), None))
            comments = []
        elif not stripped:
            comments = comments if current is None else []
    return messages


def main(root):
    defs = json.load(open(os.path.join(root, "openapi", "swagger.json"), encoding="utf-8"))["definitions"]
    out, problems = [], []
    files = [l.strip() for l in open(os.path.join(root, "protos.list")) if l.strip()]
    for rel in sorted(files):
        if SKIP_VERSION.search(rel) or "testapigroup" in rel:
            continue
        for msg in parse(os.path.join(root, rel)):
            full = msg["package"] + "." + msg["name"]
            definition = defs.get(swagger_name(msg["package"], msg["name"]), {})
            props = definition.get("properties")
            required = set(definition.get("required", []))
            for gvk in definition.get("x-kubernetes-group-version-kind", []):
                gv = (gvk["group"] + "/" if gvk["group"] else "") + gvk["version"]
                out.append(f"K {gv} {gvk['kind']} {full}")
            out.append(("L " if msg["wrapper"] else "M ") + full)
            for tag, name, flags, typ, value in msg["fields"]:
                json_field = json_name(name, props)
                if json_field is None:
                    if typ not in SCALARS and flags == "":
                        flags += "i"
                        json_field = name
                    else:
                        problems.append(f"{full}.{name}")
                        json_field = name
                if name in required or name in KEEP_ZERO:
                    flags += "k"
                record = f"F {tag} {json_field} {flags or '-'} {typ}"
                out.append(record + (f" {value}" if value else ""))
    print("# Generated by generate_schema.py from the k8s-pb protos and OpenAPI document. Do not edit.")
    print("\n".join(out))
    for p in problems:
        print(f"unmatched field {p}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
