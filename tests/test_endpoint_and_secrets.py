"""Where a token may go and what may show it: .env precedence, plain http, userinfo, redaction.

- The process environment wins over ``./.env`` for every provider and every variable, so a
  ``.env`` file in the working directory cannot redirect an exported token.
- A token never goes over plain http to a host other than this machine unless
  ``allow_insecure=True``; the check is made on the URL (no name is resolved).
- ``ssl=False`` logs a warning.
- Credentials in ``base_url`` userinfo are refused without echoing them.
- A server echoing the token whole, cut, or in part (>= 6 characters), or QPI's login password,
  leaks nothing into exceptions, logs or reprs.
"""

from __future__ import annotations

import logging
import random
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import qjobs
from qjobs.providers import ionq, qibo, qpi
from qjobs.providers.kipu.config import TOKEN_VARIABLES as KIPU_TOKENS
from qjobs.providers.kipu.config import URL_VARIABLES as KIPU_URLS
from qjobs.providers.qbraid.config import KEY_VARIABLE, URL_VARIABLE
from qjobs.transport import Redactor, RetryPolicy, Transport

PROVIDERS = ["ionq", "kipu", "qpi", "qbraid", "qibo"]
#: Path of the API under the server root, per provider (what the clients expect in base_url).
PREFIX = {"ionq": "/v0.4", "kipu": "/quantum", "qpi": "", "qbraid": "/api/v1", "qibo": ""}
#: Every variable each provider reads: (token variables, URL variables, reads .env).
VARIABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "ionq": (ionq.TOKEN_VARIABLES, ionq.URL_VARIABLES, True),
    "qibo": (qibo.TOKEN_VARIABLES, qibo.URL_VARIABLES, True),
    "qpi": (qpi.TOKEN_VARIABLES, qpi.URL_VARIABLES, True),
    "kipu": (KIPU_TOKENS, KIPU_URLS, False),
    "qbraid": ((KEY_VARIABLE,), (URL_VARIABLE,), False),
}
_RANDOM = random.Random(20261203)
TOKEN = "sk-" + "".join(_RANDOM.choice("0123456789abcdef") for _ in range(40))
PASSWORD = "Correct-Horse-" + "".join(_RANDOM.choice("abcdefgh") for _ in range(12))


def leaks(text: str, secret: str, run: int = 6) -> bool:
    """Whether ``text`` holds any ``run`` consecutive characters of ``secret``."""
    return any(secret[i : i + run] in text for i in range(len(secret) - run + 1))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for tokens, urls, _ in VARIABLES.values():
        for name in (*tokens, *urls):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("QBRAID_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no provider config files
    monkeypatch.delenv("QBRAID_CONFIG_FILE", raising=False)
    monkeypatch.delenv("KQH_CONFIG_FILE_PATH", raising=False)
    monkeypatch.delenv("PLANQK_CONFIG_FILE_PATH", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _secret_of(client: qjobs.ProviderClient) -> str:
    headers = client.transport._auth_headers
    value = next(iter(headers.values()))
    return value.partition(" ")[2] if value.startswith("apiKey ") else value


# ------------------------------------------------------------------- .env never wins
_ENV_CASES = [
    (provider, kind, name)
    for provider, (tokens, urls, _) in VARIABLES.items()
    for kind, names in (("token", tokens), ("url", urls))
    for name in names
]


@pytest.mark.parametrize(("provider", "kind", "name"), _ENV_CASES, ids=lambda v: str(v))
def test_environment_beats_dotenv_for_every_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, provider: str, kind: str, name: str
) -> None:
    tokens, urls, _ = VARIABLES[provider]
    # .env sets every variable of the provider (better-ranked names included) ...
    lines = [f"{n}=dotenv-token" for n in tokens] + [f"{n}=https://dotenv.invalid/x" for n in urls]
    (clean_env / ".env").write_text("\n".join(lines) + "\n")
    # ... the environment sets just one.
    options: dict[str, Any] = {}
    if kind == "token":
        monkeypatch.setenv(name, "env-token")
        options["base_url"] = "http://127.0.0.1:9" + PREFIX[provider]
    else:
        monkeypatch.setenv(name, "http://127.0.0.1:9" + PREFIX[provider])
        options["token"] = "arg-token"
    client = qjobs.connect(provider, **options)
    if kind == "token":
        assert _secret_of(client) == "env-token"
    else:
        assert client.base_url == "http://127.0.0.1:9" + PREFIX[provider]


@pytest.mark.parametrize("provider", ["ionq", "qibo", "qpi"])
def test_dotenv_still_fills_in_what_the_environment_lacks(clean_env: Path, provider: str) -> None:
    tokens, urls, _ = VARIABLES[provider]
    (clean_env / ".env").write_text(f"{tokens[-1]}=dotenv-token\n{urls[-1]}=https://h.invalid\n")
    client = qjobs.connect(provider)
    assert _secret_of(client) == "dotenv-token"
    assert client.base_url == "https://h.invalid"


# ------------------------------------------------------------------------- plain http
INSECURE_URLS = [
    "http://example.com/srv",
    "http://10.0.0.1:8080",
    "http://[2001:db8::1]:80",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "http://2130706433",  # 127.0.0.1 as a number: not trusted, since it is not checked
    "http://0.0.0.0:8080",
]
LOOPBACK_URLS = [
    "http://127.0.0.1:9",
    "http://127.8.9.10:9",
    "http://localhost:9",
    "http://LOCALHOST:9",
    "http://[::1]:9",
    "http://[::ffff:127.0.0.1]:9",
]


@pytest.mark.parametrize("url", INSECURE_URLS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_http_to_another_host_is_refused(clean_env: Path, provider: str, url: str) -> None:
    with pytest.raises(qjobs.InputError) as info:
        qjobs.connect(provider, token=TOKEN, base_url=url + PREFIX[provider])
    assert info.value.field == "base_url"
    assert "allow_insecure" in str(info.value)
    assert not leaks(str(info.value), TOKEN)
    # The explicit opt-in lets it through (nothing is sent: no request is made here).
    client = qjobs.connect(
        provider, token=TOKEN, base_url=url + PREFIX[provider], allow_insecure=True
    )
    assert client.base_url == url + PREFIX[provider]


@pytest.mark.parametrize("url", LOOPBACK_URLS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_http_to_loopback_is_fine(clean_env: Path, provider: str, url: str) -> None:
    client = qjobs.connect(provider, token=TOKEN, base_url=url + PREFIX[provider])
    assert client.base_url == url + PREFIX[provider]


@pytest.mark.parametrize("provider", ["ionq", "qibo", "qpi"])
def test_an_insecure_url_from_dotenv_or_environment_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    tokens, urls, _ = VARIABLES[provider]
    monkeypatch.setenv(tokens[0], TOKEN)
    (clean_env / ".env").write_text(f"{urls[0]}=http://attacker.example/x\n")
    with pytest.raises(qjobs.InputError) as info:
        qjobs.connect(provider)
    assert info.value.field == "base_url"
    (clean_env / ".env").unlink()
    monkeypatch.setenv(urls[-1], "http://attacker.example/x")
    with pytest.raises(qjobs.InputError):
        qjobs.connect(provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_allow_insecure_must_be_a_bool(clean_env: Path, provider: str) -> None:
    with pytest.raises(qjobs.InputError) as info:
        qjobs.connect(provider, token=TOKEN, base_url="https://h.invalid", allow_insecure="yes")
    assert info.value.field == "allow_insecure"


# ------------------------------------------------------------------------- ssl=False
@pytest.mark.parametrize("provider", PROVIDERS)
def test_ssl_false_logs_a_warning(
    clean_env: Path, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="qjobs")
    qjobs.connect(provider, token=TOKEN, base_url="https://h.invalid" + PREFIX[provider])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    qjobs.connect(provider, token=TOKEN, base_url="https://h.invalid" + PREFIX[provider], ssl=False)
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    qjobs.connect(
        provider, token=TOKEN, base_url="https://h.invalid" + PREFIX[provider], ssl=unverified
    )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(r.name.startswith("qjobs.") for r in warnings)
    assert all("verification is off" in r.getMessage() for r in warnings)
    assert provider in warnings[0].getMessage()
    assert not leaks(caplog.text, TOKEN)


# ---------------------------------------------------------------------------- userinfo
USERINFO_URLS = [
    "https://alice:{s}@h.example/x",
    "https://{s}@h.example/x",
    "http://alice:{s}@127.0.0.1:9/x",
    "https://:{s}@h.example",
]


@pytest.mark.parametrize("url", USERINFO_URLS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_userinfo_in_base_url_is_refused_without_echo(
    clean_env: Path, provider: str, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(qjobs.InputError) as info:
        qjobs.connect(provider, token=TOKEN, base_url=url.format(s=PASSWORD))
    assert info.value.field == "base_url"
    for text in (str(info.value), repr(info.value), repr(info.value.value), caplog.text):
        assert not leaks(text, PASSWORD)


def test_an_unparsable_url_with_userinfo_is_not_echoed() -> None:
    with pytest.raises(qjobs.InputError) as info:
        Transport(provider="p", base_url=f"ftp://bob:{PASSWORD}@h.example/x")
    assert not leaks(str(info.value), PASSWORD)
    assert "***@h.example" in str(info.value)


# ---------------------------------------------------------------------------- redaction
def test_redactor_removes_fragments_but_not_the_scheme_word() -> None:
    redactor = Redactor([f"apiKey {TOKEN}"])
    assert redactor.redact("apiKey is missing") == "apiKey is missing"
    assert redactor.redact(f"got {TOKEN[:8]}...") == "got ***..."
    assert redactor.redact(f"got {TOKEN[:-3]}!") == "got ***!"
    assert redactor.redact(f"[{TOKEN[10:16]}]") == "[***]"
    assert redactor.redact(f"short {TOKEN[:5]} ok") == f"short {TOKEN[:5]} ok"
    assert redactor.redact("nothing here") == "nothing here"


@pytest.mark.parametrize("length", [6, 7, 11, 32, 300])  # 300: too many pieces to look for
def test_redactor_removes_every_window_of_a_credential(length: int) -> None:
    credential = "".join(chr(ord("A") + (i * 7) % 26) + str(i % 10) for i in range(length))[:length]
    redactor = Redactor([f"Bearer {credential}"])
    for start in range(length - 5):
        for end in range(start + 6, length + 1):
            text = f"/jobs/x-{credential[start:end]}-y/results"
            assert redactor.redact(text) == "/jobs/x-***-y/results", (start, end)
    assert redactor.redact("/jobs/0192f3c4-7b1a/results") == "/jobs/0192f3c4-7b1a/results"


def _echo_body(secret: str) -> str:
    return (
        f"invalid key {secret[:8]}... (prefix); expected one like {secret[:-4]}; "
        f"middle {secret[12:30]}; whole {secret}"
    )


CREDENTIAL_HEADERS = {"authorization", "x-auth-token", "x-api-key", "x-api-token"}


@pytest.fixture
async def echo_server() -> AsyncIterator[str]:
    """A hostile server on 127.0.0.1: every answer is a 401 echoing the credentials it got."""

    async def handler(request: web.Request) -> web.Response:
        sent = [v for k, v in request.headers.items() if k.lower() in CREDENTIAL_HEADERS]
        secret = sent[0].removeprefix("apiKey ") if sent else ""
        if request.can_read_body:
            body = await request.text()
            if PASSWORD in body:
                secret = PASSWORD
        text = _echo_body(secret)
        payload = {"message": text, "error": text, "detail": text, "status": 401}
        return web.json_response(payload, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_echoed_token_fragments_are_redacted(
    clean_env: Path, provider: str, echo_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with qjobs.connect(
        provider,
        token=TOKEN,
        base_url=echo_server + PREFIX[provider],
        retry=RetryPolicy(max_attempts=1),
    ) as client:
        with pytest.raises(qjobs.AuthenticationError) as info:
            await client.get_job("job-1")
        texts = [str(info.value), repr(info.value), info.value.message, repr(client)]
        texts += [repr(client.transport), caplog.text]
    assert "***" in str(info.value)  # the echo did reach the message, redacted
    for text in texts:
        assert not leaks(text, TOKEN), text


@pytest.mark.anyio
async def test_qpi_login_password_is_redacted(
    clean_env: Path, echo_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with qjobs.connect("qpi", base_url=echo_server) as client:
        assert isinstance(client, qpi.QPIClient)
        with pytest.raises(qjobs.AuthenticationError) as info:
            await client.login("me@example.org", PASSWORD)
        texts = [str(info.value), repr(info.value), repr(client), caplog.text]
    assert "***" in str(info.value)
    for text in texts:
        assert not leaks(text, PASSWORD), text
