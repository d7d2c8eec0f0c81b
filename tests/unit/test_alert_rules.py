"""The example alert rules in docs/deployment.md ("Monitoring") name series, error codes and
routes that exist, and the slow-request rule leaves out the routes whose requests last as
long as a file takes to move (an upload's PATCH, a download's GET): a large file is no
outage. Prometheus is not installed here; the rules are read as Prometheus would read
their selectors (regular expressions match the whole label value)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from peerlane.config import load_settings
from peerlane.errors import ErrorCode
from peerlane.server.app import create_app
from peerlane.server.metrics import Metrics

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
# A label matcher in a selector: name, operator, quoted value.
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
# The routes whose requests carry a file's bytes: tus uploads and downloads.
STREAMING = re.compile(r".*/(?:uploads/\{upload_id\}|files/\{file_id\})")


def alert_rules() -> list[dict[str, Any]]:
    """The rules of the YAML block after "Example alert rules"."""
    text = GUIDE.read_text(encoding="utf-8")
    after = text.split("Example alert rules", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", after, re.DOTALL)
    assert block, "no yaml block after 'Example alert rules'"
    groups = yaml.safe_load(block.group(1))["groups"]
    return [rule for group in groups for rule in group["rules"]]


# The samples each kind of metric family exposes (Prometheus' text format).
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}


def exposed_series() -> set[str]:
    """Every sample name peerlane's registry exposes, labelled series included (which
    have no sample before their first use): counters' _total, histograms' _bucket…"""
    families = Metrics().registry.collect()
    return {family.name + end for family in families for end in SUFFIXES[family.type]}


def matchers(expr: str, label: str) -> list[tuple[str, str]]:
    """(operator, value) of every matcher on ``label`` in ``expr``."""
    return [
        (op, value.replace("\\\\", "\\"))
        for name, op, value in MATCHER.findall(expr)
        if name == label
    ]


def kept(route: str, expr: str) -> bool:
    """Whether the route matchers in ``expr`` select ``route`` (anchored, as in PromQL)."""
    for op, value in matchers(expr, "route"):
        matched = re.fullmatch(value, route) is not None
        if (op == "=~" and not matched) or (op == "!~" and matched):
            return False
        if (op == "=" and route != value) or (op == "!=" and route == value):
            return False
    return True


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The API's route templates: the values of peerlane_http_request_seconds' route label
    (server/middleware.py, _route_name)."""
    app = create_app(load_settings(data_dir=tmp_path_factory.mktemp("data")))
    return list(app.openapi()["paths"])


RULES = alert_rules()


def test_the_guide_has_alert_rules_with_a_name_and_an_expression() -> None:
    assert len(RULES) >= 5
    for rule in RULES:
        assert rule.get("alert"), rule
        assert rule.get("expr"), rule


@pytest.mark.parametrize("rule", RULES, ids=lambda r: str(r.get("alert")))
def test_every_series_a_rule_names_is_exposed(rule: dict[str, Any]) -> None:
    named = set(re.findall(r"\bpeerlane_\w+", rule["expr"]))
    assert named - exposed_series() == set(), rule["expr"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: str(r.get("alert")))
def test_every_error_code_a_rule_names_is_one_peerlane_sends(rule: dict[str, Any]) -> None:
    codes = [code.value for code in ErrorCode]
    for _, value in matchers(rule["expr"], "code"):
        for alternative in value.split("|"):
            assert any(re.fullmatch(alternative, code) for code in codes), (alternative, rule)


def test_the_slow_request_rule_leaves_out_every_file_transfer_and_nothing_else(
    routes: list[str],
) -> None:
    [slow] = [rule for rule in RULES if "peerlane_http_request_seconds" in rule["expr"]]
    streaming = [route for route in routes if STREAMING.fullmatch(route)]
    # The four there are today; a new one must be looked at (and is counted here).
    assert set(streaming) >= {
        "/api/files/uploads/{upload_id}",
        "/api/rooms/{room_id}/uploads/{upload_id}",
        "/api/rooms/{room_id}/files/{file_id}",
        "/api/shares/{share_id}/files/{file_id}",
    }, streaming
    counted = [route for route in routes if kept(route, slow["expr"])]
    assert [route for route in streaming if route in counted] == [], slow["expr"]
    assert set(counted) == set(routes) - set(streaming), slow["expr"]
