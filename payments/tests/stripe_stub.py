"""A stand-in for api.stripe.com on 127.0.0.1, for the stripe library to talk to: it answers
PaymentIntent creation and cancellation and refund creation as Stripe documents them, records
every request (path, form fields, headers), and refuses or fails refunds when told to."""

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass
class Recorded:
    method: str
    path: str
    form: dict
    headers: dict


@dataclass
class StripeStub:
    requests: list[Recorded] = field(default_factory=list)
    # What POST /v1/refunds answers: "succeeded", "pending", "refuse" (a 400) or "fail" (a 500).
    refund_mode: str = "succeeded"
    # Called (in the stub's thread) before a PaymentIntent creation is answered: a race to stage.
    before_intent: Callable[[], None] | None = None

    def start(self) -> "StripeStub":
        stub, ids = self, itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("Request-Id", f"req_{next(ids)}")
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                stub.requests.append(Recorded("POST", self.path, form, dict(self.headers)))
                if self.path == "/v1/payment_intents":
                    if stub.before_intent is not None:
                        stub.before_intent()
                    n = next(ids)
                    self._answer(
                        200,
                        {
                            "id": f"pi_{n}",
                            "object": "payment_intent",
                            "amount": int(form["amount"]),
                            "currency": form["currency"],
                            "status": "requires_payment_method",
                            "client_secret": f"pi_{n}_secret_stub",
                            "metadata": {},
                        },
                    )
                elif self.path.startswith("/v1/payment_intents/") and self.path.endswith("/cancel"):
                    intent = self.path.split("/")[3]
                    self._answer(200, {"id": intent, "object": "payment_intent", "status": "canceled"})
                elif self.path == "/v1/refunds":
                    if stub.refund_mode == "refuse":
                        error = {"type": "invalid_request_error", "message": "Charge has already been refunded."}
                        self._answer(400, {"error": error})
                    elif stub.refund_mode == "fail":
                        self._answer(500, {"error": {"type": "api_error", "message": "Something went wrong."}})
                    else:
                        self._answer(
                            200,
                            {
                                "id": f"re_{next(ids)}",
                                "object": "refund",
                                "amount": int(form["amount"]),
                                "currency": "usd",
                                "payment_intent": form["payment_intent"],
                                "status": stub.refund_mode,
                                "metadata": {"refund_id": form.get("metadata[refund_id]", "")},
                            },
                        )
                else:
                    self._answer(404, {"error": {"type": "invalid_request_error", "message": "No such route."}})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]
