"""Run a workflow from workflows/ in a real ComfyUI host and print where its files went.

    python scripts/run_workflow.py "workflows/Empty video latent.json" [--output DIR]

Starts the host set up by scripts/setup_host.sh (or COMFYUI_PATH's), converts the UI-format
workflow through the server's /object_info, queues it, shows progress, and stops the server.
"""
import argparse
import json
import pathlib
import sys

from comfy_host import REPO, ComfyHost, PromptRefused, host_dir
from workflow_api import WorkflowError, to_api


def show_progress(message: dict) -> None:
    if message.get("type") == "progress":
        data = message["data"]
        print(f"\r  node {data.get('node')}: step {data['value']}/{data['max']}", end="", flush=True)
    elif message.get("type") == "executing" and message["data"].get("node"):
        print(f"\n  running node {message['data']['node']}", end="", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workflow", type=pathlib.Path)
    parser.add_argument("--output", type=pathlib.Path, default=REPO / "output",
                        help="folder for the written files (default: output/ in the repository)")
    args = parser.parse_args()
    try:
        workflow = json.loads(args.workflow.read_text())
    except FileNotFoundError:
        print(f"no workflow file at {args.workflow}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"{args.workflow} is not valid JSON ({error}): is it a workflow saved from ComfyUI?", file=sys.stderr)
        return 1
    import torch  # only to learn whether this machine has a GPU for the host

    base = host_dir() / "main-job"  # beside the host whose ComfyUI runs it
    with ComfyHost(base=base, output_dir=args.output.resolve(), extra_args=(),
                   cpu=not torch.cuda.is_available()) as host:
        print(f"ComfyUI is up at {host.url} (started in {host.startup_seconds:.1f} s); running {args.workflow.name}")
        try:
            graph = workflow if "nodes" not in workflow else to_api(workflow, host.object_info())
            result = host.run(graph, on_message=show_progress)
        except WorkflowError as error:
            print(f"cannot run {args.workflow.name}: {error}", file=sys.stderr)
            return 1
        except PromptRefused as refused:
            print(f"\nthe host refused the workflow: {refused}", file=sys.stderr)
            return 1
        print()
        if result.status != "success":
            print(f"the workflow failed: {result.error}", file=sys.stderr)
            return 1
        for path in host.files_of(result):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
