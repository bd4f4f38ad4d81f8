"""`returns codec-server`: the Temporal UI's codec endpoint. The UI posts encrypted payloads to `<endpoint>/decode`
(and `/encode` when a person sends a signal from it) and shows what comes back; only this server holds the keys.

Access: a bearer token (RETURNS_CODEC_TOKEN) in the Authorization header only. A token in a URL ends up in browser
history, proxy and access logs, so the endpoint's first path segment is accepted as the token only when told to
(`--allow-token-in-path` or RETURNS_CODEC_TOKEN_IN_PATH=1: a local dev server's UI, which cannot send headers).
Cross-origin requests are allowed from the UI's origin only. Each deployment (production, staging, a laptop) runs
its own codec server with its own token.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from engine.temporal.codec import CodecKeys, EncryptionCodec

ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace, Caller-Type, Client-Name, Client-Version"


def create_codec_app(keys: CodecKeys, *, token: str, ui_origins: list[str], token_in_path: bool = False) -> Starlette:
    codec = EncryptionCodec(keys)

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin", "")
        if origin in ui_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Vary"] = "Origin"
        return response

    def authorised(request: Request) -> bool:
        given = (request.path_params.get("token") or "") if token_in_path else ""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = given or header[7:].strip()
        return bool(token) and bool(given) and hmac.compare_digest(given.encode(), token.encode())

    def endpoint(transform: Callable[[Payloads], Awaitable[Payloads]]) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if request.method == "OPTIONS":
                return cors(request, Response(status_code=204))
            if not authorised(request):
                return cors(request, JSONResponse({"error": "unauthorised"}, status_code=401))
            try:
                payloads = json_format.Parse(await request.body(), Payloads())
            except (json_format.ParseError, ValueError) as exc:
                return cors(request, JSONResponse({"error": f"not a Payloads JSON: {exc}"}, status_code=400))
            try:
                result = await transform(payloads)
            except Exception as exc:  # a payload under an unknown key, a tampered one: say so, keep serving
                return cors(request, JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400))
            body = json.loads(json_format.MessageToJson(result))
            return cors(request, JSONResponse(body))

        return handle

    async def decode(payloads: Payloads) -> Payloads:
        return Payloads(payloads=await codec.decode(payloads.payloads))

    async def encode(payloads: Payloads) -> Payloads:
        return Payloads(payloads=await codec.encode(payloads.payloads))

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "active_key": keys.active})

    methods = ["POST", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/healthz", health),
            Route("/decode", endpoint(decode), methods=methods),
            Route("/encode", endpoint(encode), methods=methods),
            Route("/{token}/decode", endpoint(decode), methods=methods),
            Route("/{token}/encode", endpoint(encode), methods=methods),
        ]
    )
