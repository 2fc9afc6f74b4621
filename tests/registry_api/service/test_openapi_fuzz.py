"""Schemathesis against the app's own /openapi.json: every operation, a few hundred generated
requests each (valid and invalid, boundaries first), as the office or as a participant, on the
embedded chain and SQLite: never a 5xx, and every answer in the status, media type and schema the
document declares for it.

Stateless: each request stands alone. Writes that pass validation and the chain's pre-check go
into the outbox and the relayer sends them, as in production.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python.asgi import ASGIClient, get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ledger.artifacts import ArtifactSet
from registry_api.app import create_app
from registry_api.registry import Registry
from registry_api.settings import Settings
from tests.registry_api.service.conftest import _embedded
from tests.support.api import enrol, sign_in
from wallets import keystore
from wallets.signer import LocalSigner

#: Generated requests per operation in the fuzzing phase (the coverage phase adds its own).
MAX_EXAMPLES = 200
#: Below this many requests an operation was not really exercised: the run is a failure.
MIN_CASES = 200
#: A participant's id: far from the small ids generated first, so that no generated suspension
#: or revocation takes its token away while the run lasts.
PARTICIPANT_ID = 7_340_033

CONFIG = SchemathesisConfig.from_dict(
    {
        # Reproducible in CI: the same requests on every run.
        "seed": 20_251_123,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "database": "none",
            # Tokens are ours (below); generated Authorization headers would only be refused.
            "with-security-parameters": False,
        },
        "phases": {
            # The coverage phase sends boundaries and malformed values of every parameter, header
            # and body field, requests without a required header, duplicated query parameters and
            # methods the document does not declare; the fuzzing phase adds random negative data.
            "coverage": {"enabled": True, "generate-duplicate-query-parameters": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "suppress-health-check": ["all"],
    }
)


def _document() -> dict[str, object]:
    """The app's OpenAPI document, to collect one test per operation before any registry runs.

    Rendering the document reads no part of the registry; the requests go to a running one.
    """
    stand_in = cast(Registry, SimpleNamespace(settings=Settings(), ledger=None))
    return create_app(stand_in).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
#: Operations that take nothing to vary (no parameters, no body): a few cases exhaust them.
INPUTLESS = {
    f"{method.upper()} {path}"
    for path, methods in cast(dict[str, dict[str, dict[str, object]]], DOCUMENT["paths"]).items()
    for method, operation in methods.items()
    if not operation.get("parameters") and "requestBody" not in operation
}


@dataclass
class Fuzzed:
    app: FastAPI
    #: One in-process client for the whole run (a client per request starts a thread each).
    client: ASGIClient
    tokens: dict[str, str]
    cases: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, artifacts: ArtifactSet) -> Iterator[Fuzzed]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keystore, "SCRYPT_N", 2)  # the office's keystore, at a trivial cost
        registry, office_key = _embedded(tmp_path_factory.mktemp("fuzz"), artifacts)
    registry.start()
    try:
        with TestClient(create_app(registry)) as client:
            office = sign_in(client, office_key)
            participant = LocalSigner.generate()
            enrol(client, office, PARTICIPANT_ID, participant, "Fuzzing Ltd")
            tokens = {
                "office": office["Authorization"],
                "participant": sign_in(client, participant)["Authorization"],
            }
            app = cast(FastAPI, client.app)
            with get_client(app) as asgi_client:  # type: ignore[arg-type]  # any ASGI app
                run = Fuzzed(app, asgi_client, tokens)
                yield run
    finally:
        registry.close()
    width = max(map(len, run.cases), default=0)
    print(f"\n{'operation':<{width}}  cases  seconds")
    for label, cases in sorted(run.cases.items()):
        print(f"{label:<{width}}  {cases:>5}  {run.seconds[label]:>7.1f}")
    print(f"{'total':<{width}}  {run.cases.total():>5}  {sum(run.seconds.values()):>7.1f}")


@pytest.fixture
def exercised(fuzzed: Fuzzed, request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """The cases of the test's operation, counted: fewer than MIN_CASES fail the test."""
    yield fuzzed.cases
    label = request.node.name.partition("[")[2].removesuffix("]")  # "POST /v1/rights"
    ran = fuzzed.cases[label]
    if label not in INPUTLESS:
        assert ran >= MIN_CASES, f"{label}: {ran} cases, fewer than {MIN_CASES}"


@schema.parametrize()
def test_no_request_gets_a_server_error(
    case: Case[Any], fuzzed: Fuzzed, exercised: Counter[str]
) -> None:
    # Two requests in three as the office, one as a participant. (Not a generated argument:
    # Schemathesis runs its coverage phase only for tests without extra strategies.)
    caller = "participant" if exercised[case.operation.label] % 3 == 2 else "office"
    exercised[case.operation.label] += 1
    started = time.perf_counter()
    case.call_and_validate(
        app=fuzzed.app,
        session=fuzzed.client,
        headers={"Authorization": fuzzed.tokens[caller]},
        checks=[
            not_a_server_error,
            negative_data_rejection,
            missing_required_header,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    fuzzed.seconds[case.operation.label] += time.perf_counter() - started
