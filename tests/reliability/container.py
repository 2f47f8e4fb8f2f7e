"""One Lambda container for the reliability tests: the real handler in its own process.

Run as a script by ``harness.Container``. It reads one API Gateway event per line on stdin and writes the
handler's response, one JSON line each, to the pipe that was its stdout. The function's own output (Powertools
logs JSON to stdout, metrics too) goes to stderr, which the harness sends to a file: so the tests read exactly
what the function printed, and can kill this process (by its pid) in the middle of an invocation.

Environment: the function's (``TABLE_NAME``...), ``AWS_ENDPOINT_URL`` (the emulator or the fault proxy), and
``RELIABILITY_THROTTLE_BACKOFF_SCALE``: botocore's throttling backoff base in seconds (botocore's is 1). It
shortens the sleeps between botocore's own retries; their number (standard mode, 3 attempts) is unchanged.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's stdout joins its stderr: one log, in the order it was written
    sys.path.insert(0, str(ROOT / "functions" / "ingest"))
    scale = os.environ.get("RELIABILITY_THROTTLE_BACKOFF_SCALE")
    if scale:
        from botocore.retries.standard import ExponentialBackoff

        vars(ExponentialBackoff)["_DEFAULT_BACKOFF_CONFIG"]["throttling_base_scale"] = float(scale)
    import app
    from webhook_hub_cli.apigw import LambdaContext

    results.write('{"ready": true}\n')
    results.flush()
    for line in sys.stdin:
        event = json.loads(line)
        response = app.lambda_handler(event, LambdaContext())
        results.write(json.dumps(response) + "\n")
        results.flush()


if __name__ == "__main__":
    main()
