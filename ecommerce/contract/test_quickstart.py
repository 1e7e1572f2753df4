"""QUICKSTART.md stays true: its journey is run, block by block, against a live server.

The page's ```sh blocks are the journey: they run in order in one bash process
(`set -euo pipefail`, so variables such as TOKEN and ORDER_ID carry over) against a
gunicorn server on the test databases, after `manage.py seed --demo`. The ```json block
that follows a ```sh block is that block's output (a stream of JSON values, as `jq` and
`jq -c` print them); a ```sh block with no ```json block after it must print nothing.
Outputs are compared as JSON: what varies between runs (ids, tokens, timestamps, dates,
latencies, the store engines, and sales figures that depend on the time of day) is a
wildcard of the same type; everything else (keys, statuses, error codes, quantities,
the seeded products' names and prices) must match. A line `...` in a shown list means
"and more elements": the shown ones are compared with the first ones.
"""

import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

QUICKSTART = Path(__file__).resolve().parents[2] / "QUICKSTART.md"
DOC_API = "http://localhost:8080"
SEPARATOR = "@@quickstart-block-end@@"
MORE = "@@more@@"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "Quickstart-Adm1n-Pass"  # noqa: S105 - test-only

# Keys whose values differ from run to run: compared by type only.
VOLATILE_KEYS = {
    "id", "user_id", "product_id", "category_id", "parent_id", "access", "refresh",
    "created_at", "updated_at", "date_joined", "added_at", "date", "from", "to",
    "latency_ms", "engine",
}  # fmt: skip
# Sales figures over a window of days shift with the time of day the demo was seeded.
REVENUE_FIGURES = {"orders", "gross", "cancelled", "net", "average_order_value"}
POPULAR_ROW = {"product_id", "name", "units", "revenue"}
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


# --- reading the page ---------------------------------------------------------------


def journey(text: str) -> list[tuple[str, str | None]]:
    """The page's (```sh block, the ```json block after it or None) pairs, in order."""
    fences = re.findall(r"^```(\w*)\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    pairs: list[tuple[str, str | None]] = []
    for language, body in fences:
        if language == "sh":
            pairs.append((body, None))
        elif language == "json" and pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], body)
    return pairs


def json_stream(text: str) -> list:
    """The JSON values in `text`, one after another (pretty or one per line); a line `...`
    inside a list stands for more elements."""
    text = re.sub(r"^(\s*)\.\.\.\s*$", rf'\1"{MORE}"', text, flags=re.MULTILINE)
    decoder, values, position = json.JSONDecoder(), [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return values
        value, position = decoder.raw_decode(text, position)
        values.append(value)


# --- comparing ----------------------------------------------------------------------


def wildcard(value) -> str:
    return f"<{kind(value)}>"


def normalize(value, *, base_url: str, key: str | None = None, volatile: frozenset = frozenset()):
    """`value` with what varies between runs replaced by a placeholder of its type."""
    if isinstance(value, dict):
        keys = set(value)
        varying = set(volatile)
        if "gross" in keys:  # the revenue summary
            varying |= REVENUE_FIGURES
        if keys == POPULAR_ROW:
            varying |= {"name", "units", "revenue"}
        return {k: normalize(v, base_url=base_url, key=k, volatile=frozenset(varying)) for k, v in value.items()}
    if isinstance(value, list):
        return [v if v == MORE else normalize(v, base_url=base_url, volatile=volatile) for v in value]
    if key in VOLATILE_KEYS or key in volatile:
        return wildcard(value) if value is not None else None
    if isinstance(value, str):
        if OBJECT_ID.match(value):
            return wildcard(value)
        return value.replace(base_url, DOC_API)
    return value


def difference(expected, actual, path: str = "$") -> str | None:
    """Where `actual` departs from `expected` (both normalized), or None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            return f"{path}: keys {sorted(actual)} != shown {sorted(expected)}"
        for key in expected:
            if found := difference(expected[key], actual[key], f"{path}.{key}"):
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        shown = expected
        if expected and expected[-1] == MORE:
            shown = expected[:-1]
            if len(actual) < len(shown):
                return f"{path}: {len(actual)} elements, fewer than the {len(shown)} shown"
        elif len(expected) != len(actual):
            return f"{path}: {len(actual)} elements != {len(expected)} shown"
        for index, item in enumerate(shown):
            if found := difference(item, actual[index], f"{path}[{index}]"):
                return found
        return None
    if expected != actual or kind(expected) != kind(actual):
        return f"{path}: {actual!r} != shown {expected!r}"
    return None


def kind(value) -> str:
    # jq prints 7.0 as 7: a number is a number.
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


# --- running ------------------------------------------------------------------------


def script(blocks: list[str], api: str) -> str:
    """One bash script running the blocks in order, printing SEPARATOR after each."""
    first = blocks[0]
    assert re.search(rf"^API={re.escape(DOC_API)}$", first, flags=re.MULTILINE), "the first block sets API"
    blocks = [re.sub(rf"^API={re.escape(DOC_API)}$", f"API={api}", first, flags=re.MULTILINE), *blocks[1:]]
    parts = ["set -euo pipefail"]
    for block in blocks:
        parts += [block, f"printf '\\n{SEPARATOR}\\n'"]
    return "\n".join(parts) + "\n"


def run_journey(blocks: list[str], *, api: str, cwd: Path, path: str) -> list[str]:
    """Each block's output. Fails with the block that failed, its output and stderr."""
    env = {**os.environ, "PATH": path, "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        ["bash", "-c", script(blocks, api)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    outputs = done.stdout.split(f"\n{SEPARATOR}\n")
    finished, rest = outputs[:-1], outputs[-1]
    if done.returncode != 0 or len(finished) != len(blocks):
        failed = len(finished)
        pytest.fail(
            f"block {failed + 1} of QUICKSTART.md exited with {done.returncode}:\n"
            f"{blocks[min(failed, len(blocks) - 1)]}\n--- stdout\n{rest}\n--- stderr\n{done.stderr}"
        )
    return finished


JQ_STAND_IN = r"""
# A stand-in for the jq filters QUICKSTART.md uses: [-r] [-c] 'PATH' or 'PATH | {key, ...}',
# PATH being `.` or steps like `.results`, `[0]`, `[]`.
import json, re, sys

args = sys.argv[1:]
raw, compact = "-r" in args, "-c" in args
(expression,) = [a for a in args if not a.startswith("-")] or ["."]
path, _, keys = (part.strip() for part in expression.partition("|"))
if not re.fullmatch(r"\.|(\.\w+|\[\d*\])+", path) or (keys and not re.fullmatch(r"\{\s*\w+(\s*,\s*\w+)*\s*\}", keys)):
    sys.exit(f"jq stand-in: unsupported filter {expression!r}")
values = [json.loads(sys.stdin.read())]
for key, index in re.findall(r"\.(\w+)|\[(\d*)\]", path):
    if key:
        values = [v.get(key) if isinstance(v, dict) else None for v in values]
    elif index:
        values = [v[int(index)] if isinstance(v, list) and int(index) < len(v) else None for v in values]
    else:
        values = [item for v in values for item in (v.values() if isinstance(v, dict) else v)]
if keys:
    values = [{k: v.get(k) for k in re.findall(r"\w+", keys)} for v in values]
for v in values:
    if raw and isinstance(v, str):
        print(v)
    elif compact:
        print(json.dumps(v, separators=(",", ":"), ensure_ascii=False))
    else:
        print(json.dumps(v, indent=2, ensure_ascii=False))
"""


def tool_path(bin_dir: Path) -> str:
    """PATH for the journey: the real jq when installed, else the stand-in."""
    if shutil.which("jq") is None:
        stand_in = bin_dir / "jq"
        stand_in.write_text(f"#!{sys.executable}\n{JQ_STAND_IN}")
        stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
        return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    return os.environ["PATH"]


# --- the tests ----------------------------------------------------------------------


def test_the_quickstart_journey_answers_what_the_page_shows(live_api, monkeypatch, tmp_path, settings):
    pairs = journey(QUICKSTART.read_text())
    assert len(pairs) >= 10, "QUICKSTART.md lost its journey"
    # The page's staff block reads the demo admin from var/admin_credentials, where
    # `make run` writes it; here the seed takes the admin from the environment, as on
    # real databases, and the journey runs in a directory holding that file. DATA_DIR
    # points there too, so nothing can touch the checkout's var/.
    monkeypatch.setenv("SEED_ADMIN_EMAIL", ADMIN_EMAIL)
    monkeypatch.setenv("SEED_ADMIN_PASSWORD", ADMIN_PASSWORD)
    (tmp_path / "var").mkdir()
    settings.DATA_DIR = tmp_path / "var"
    seeded = io.StringIO()
    call_command("seed", "--demo", stdout=seeded, stderr=io.StringIO())
    assert "200 products" in seeded.getvalue()
    (tmp_path / "var" / "admin_credentials").write_text(f"{ADMIN_EMAIL} {ADMIN_PASSWORD}\n")
    (tmp_path / "bin").mkdir()

    outputs = run_journey(
        [block for block, _ in pairs], api=live_api.url, cwd=tmp_path, path=tool_path(tmp_path / "bin")
    )

    for number, ((block, shown), output) in enumerate(zip(pairs, outputs, strict=True), start=1):
        where = f"block {number} of QUICKSTART.md:\n{block}\n--- printed:\n{output}"
        if shown is None:
            assert output.strip() == "", f"{where}\n--- the page shows no output for it"
            continue
        actual = [normalize(v, base_url=live_api.url) for v in json_stream(output)]
        expected = [normalize(v, base_url=live_api.url) for v in json_stream(shown)]
        if len(actual) != len(expected):
            pytest.fail(f"{where}\n--- {len(actual)} JSON values printed, the page shows {len(expected)}")
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            if found := difference(want, got):
                pytest.fail(f"{where}\n--- value {index + 1}: {found}")


SAMPLE = {
    "access": "eyJ.token",
    "id": 7,
    "status": "paid",
    "rating": {"average": "4.50", "count": 2},
    "results": [
        {"id": "6b0da9ab4a123edf6f3e197c", "name": "Rustic Wool Lamp", "slug": "lamps", "price": "25.70",
         "tags": ["new"], "rating": {"average": "5.00", "count": 1}},
        {"id": "6b0da9ab4a123edf6f3e197d", "name": "Mini Wool Lamp", "slug": "lamp", "price": "49.46",
         "tags": [], "rating": {"average": "0.00", "count": 0}},
    ],
}  # fmt: skip


def jq_uses(text: str) -> list[list[str]]:
    """The options and filter of every `jq` in the page's journey."""
    uses = []
    for block, _ in journey(text):
        for options, quoted, bare in re.findall(r"\| jq((?: -[rc])*)(?: '([^']*)'| ([^\s')]+))?", block):
            uses.append([*options.split(), quoted or bare or "."])
    return uses


def test_the_jq_stand_in_prints_what_jq_prints_for_every_filter_of_the_page(tmp_path):
    uses = jq_uses(QUICKSTART.read_text())
    assert {".", ".access", ".id", ".results[0].id", ".results[] | {name, slug}"} <= {use[-1] for use in uses}
    stand_in = tmp_path / "jq"
    stand_in.write_text(JQ_STAND_IN)
    real_jq = shutil.which("jq")
    for use in uses:
        mine = subprocess.run(
            [sys.executable, str(stand_in), *use], input=json.dumps(SAMPLE), capture_output=True, text=True
        )
        assert mine.returncode == 0, (use, mine.stderr)
        if real_jq:
            theirs = subprocess.run([real_jq, *use], input=json.dumps(SAMPLE), capture_output=True, text=True)
            assert mine.stdout == theirs.stdout, use
    # What it is for, jq or not:
    assert subprocess.run(
        [sys.executable, str(stand_in), "-c", ".results[] | {name, price}"],
        input=json.dumps(SAMPLE), capture_output=True, text=True,
    ).stdout == '{"name":"Rustic Wool Lamp","price":"25.70"}\n{"name":"Mini Wool Lamp","price":"49.46"}\n'  # fmt: skip
    unsupported = subprocess.run(
        [sys.executable, str(stand_in), "map(.id)"], input="{}", capture_output=True, text=True
    )
    assert unsupported.returncode != 0


def test_a_trimmed_list_on_the_page_matches_longer_answers_but_not_other_shapes():
    shown = json_stream('{"results": [\n  {"id": 1, "name": "Lamp"},\n  ...\n]}\n"paid"\n')
    assert len(shown) == 2
    (page,) = [normalize(shown[0], base_url="http://127.0.0.1:1")]
    answer = {"results": [{"id": 9, "name": "Lamp"}, {"id": 10, "name": "Pan"}]}
    assert difference(page, normalize(answer, base_url="http://127.0.0.1:1")) is None
    assert difference(page, normalize({"results": []}, base_url="")) == "$.results: 0 elements, fewer than the 1 shown"
    renamed = {"results": [{"id": 9, "title": "Lamp"}]}
    assert difference(page, normalize(renamed, base_url="")).startswith("$.results[0]: keys")
    retyped = {"results": [{"id": "9", "name": "Lamp"}]}
    assert difference(page, normalize(retyped, base_url="")) == "$.results[0].id: '<str>' != shown '<number>'"
