"""moto's S3 server, except that a write whose body does not match its ``x-amz-checksum-sha256`` is refused.

    .venv/bin/python bench/checking_s3.py -H 127.0.0.1 -p 9000

S3 and MinIO answer such a write ``400 BadDigest``; moto stores it. ``bench/evidence_upload.py --store checking``
runs this in moto's place, so the API finds (by its start-up probe, ``server.evidence.store_trust``) a store
that checks what it is given, as in production. Bench only: the tests use moto as it is.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

_BAD_DIGEST = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>BadDigest</Code>'
               b"<Message>The SHA256 you specified did not match the calculated checksum.</Message></Error>")


def checking(app: Any) -> Any:
    def wsgi(environ: dict, start_response: Any) -> Any:
        sent = environ.get("HTTP_X_AMZ_CHECKSUM_SHA256")
        if environ["REQUEST_METHOD"] == "PUT" and sent:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            if base64.b64encode(hashlib.sha256(body).digest()).decode() != sent:
                start_response("400 Bad Request", [("Content-Type", "application/xml"),
                                                   ("Content-Length", str(len(_BAD_DIGEST)))])
                return [_BAD_DIGEST]
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    return wsgi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=9000)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, checking(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
