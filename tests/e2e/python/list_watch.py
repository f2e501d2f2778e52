#!/usr/bin/env python3
"""Lists and then watches the pods of one namespace with the official `kubernetes` client.

Usage: list_watch.py KUBECONFIG NAMESPACE TIMEOUT_SECONDS EXPECTED_ADDED

Prints one JSON object per line, flushed as it goes:
  {"type": "LIST", "names": [...], "resourceVersion": "..."}   once, after the list
  {"type": "ADDED"|"MODIFIED"|"DELETED", "name": "...", "phase": "..."}   per watch event
  {"type": "DONE", "added": N}   when EXPECTED_ADDED new pods were added or the watch timed out
Exits non-zero (with the error on stderr) when the package is missing or a call fails.
"""

import json
import sys

from kubernetes import client, config, watch


def emit(record):
    print(json.dumps(record), flush=True)


def main():
    kubeconfig, namespace, timeout, expected = sys.argv[1:5]
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()

    pods = v1.list_namespaced_pod(namespace)
    listed = {pod.metadata.name for pod in pods.items}
    emit(
        {
            "type": "LIST",
            "names": sorted(listed),
            "resourceVersion": pods.metadata.resource_version,
        }
    )

    added = 0
    stream = watch.Watch()
    for event in stream.stream(
        v1.list_namespaced_pod,
        namespace,
        resource_version=pods.metadata.resource_version,
        timeout_seconds=int(timeout),
    ):
        pod = event["object"]
        emit(
            {
                "type": event["type"],
                "name": pod.metadata.name,
                "phase": pod.status.phase if pod.status else None,
            }
        )
        if event["type"] == "ADDED" and pod.metadata.name not in listed:
            added += 1
            if added >= int(expected):
                stream.stop()
    emit({"type": "DONE", "added": added})


if __name__ == "__main__":
    main()
