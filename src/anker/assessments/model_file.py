"""The schema of anker's JSON model files, checked before anything is rebuilt from them.

A model file decides how clients are routed, so a damaged one must not load
silently: a coefficient replaced by ``null`` would send every client to
route B, ``Infinity`` every client to route A. Reading a file here

* bounds its size (:data:`MAX_BYTES`), its nesting depth (:data:`MAX_DEPTH`)
  and the number of values in it (:data:`MAX_VALUES`), so a file nested
  1,000 deep is refused, not a ``RecursionError``;
* refuses ``NaN`` and ``Infinity`` (which a file written by anker never
  holds) and numbers too large for a float;
* checks each test's keys, types and shapes, and that every coefficient is
  a finite number;
* applies the library's own protected-attribute policy, never the file's:
  the attributes anker protects stay protected whatever list the file holds,
  and a file that uses one as a predictor without ``allow_protected`` is
  refused.

Every problem is an :class:`anker.errors.AnkerModelFileError` naming the key.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from anker.errors import AnkerModelFileError
from anker.schema import PROTECTED

MAX_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 24
MAX_VALUES = 20_000_000
MAX_TOP_FACTORS = 20
MAX_FEATURES = 10_000

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)
_TEST_KEYS = ("anker_model", "format_version", "config", "design", "state")
# state keys that must hold finite numbers (scalars or arrays), per kind of test
_FINITE_STATE = {
    "ComplianceTest": ("coef", "x_mean", "n", "n_iter"),
    "LabourMarketTest": ("coef", "x_mean", "n", "n_iter"),
    "ReintegrationTest": ("outcome_coef", "propensity_coef", "support", "x_mean", "n"),
    "BenefitDurationTest": ("coef", "center", "x_mean", "n", "n_events", "n_iter",
                            "max_follow_up"),
}


def _refuse_constant(name: str) -> float:
    raise AnkerModelFileError(f"the file holds {name}, which an anker model file never does "
                              "(coefficients must be finite numbers)")


def read_model_json(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a model file with the bounds above; the top level must be an object.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "deep.json")
    >>> _ = open(path, "w").write("[" * 1000 + "]" * 1000)
    >>> read_model_json(path)
    Traceback (most recent call last):
    ...
    anker.errors.AnkerModelFileError: nested more than 24 levels deep: not an anker model file
    """
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise AnkerModelFileError(f"{size:,} bytes is larger than any anker model file "
                                  f"(at most {MAX_BYTES:,})")
    text = path.read_bytes().decode("utf-8")
    _check_depth_text(text)
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise AnkerModelFileError(f"nested more than {MAX_DEPTH} levels deep: not an anker "
                                  "model file") from None
    check_structure(data)
    if not isinstance(data, dict):
        raise AnkerModelFileError(f"the top level is a JSON {type(data).__name__}, not an object")
    return data


def _check_depth_text(text: str) -> None:
    """Bracket depth outside strings, without recursion (json.loads recurses)."""
    bare = _STRING.sub("", text).encode("utf-8", "replace")
    codes = np.frombuffer(bare, dtype=np.uint8)
    step = np.isin(codes, _OPEN).astype(np.int64) - np.isin(codes, _CLOSE).astype(np.int64)
    if step.size and int(np.cumsum(step).max()) > MAX_DEPTH:
        raise AnkerModelFileError(f"nested more than {MAX_DEPTH} levels deep: not an anker "
                                  "model file")


def check_structure(data: Any) -> None:
    """Depth, number of values and finiteness of every number, without recursion."""
    stack = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise AnkerModelFileError(f"more than {MAX_VALUES:,} values: not an anker model file")
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise AnkerModelFileError(f"nested more than {MAX_DEPTH} levels deep")
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise AnkerModelFileError(f"nested more than {MAX_DEPTH} levels deep")
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise AnkerModelFileError("a number is too large for a float (it reads as "
                                      "infinity): not a value anker writes")


def _finite_numbers(value: Any, key: str, *, allow_null: bool = False) -> None:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif v is None and allow_null:
            continue
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise AnkerModelFileError(f"{key} must hold finite numbers, found {v!r}")


def check_test_data(name: str, data: Any) -> dict[str, Any]:
    """Keys and types of one test's entry; returns its config with anker's protected policy.

    Examples
    --------
    >>> check_test_data("ComplianceTest", {"anker_model": "ComplianceTest"})
    Traceback (most recent call last):
    ...
    anker.errors.AnkerModelFileError: ComplianceTest: missing key(s) ['format_version', 'config', 'design', 'state']
    """
    if not isinstance(data, dict):
        raise AnkerModelFileError(f"{name}: expected an object, got {type(data).__name__}")
    check_structure(data)  # also for a dict handed to from_dict, not read from a file
    missing = [k for k in _TEST_KEYS if k not in data]
    if missing:
        raise AnkerModelFileError(f"{name}: missing key(s) {missing}")
    config, design, state = data["config"], data["design"], data["state"]
    for key, value in (("config", config), ("design", design), ("state", state)):
        if not isinstance(value, dict):
            raise AnkerModelFileError(f"{name}: {key} must be an object")
    features = config.get("features")
    if (not isinstance(features, list) or not features or len(features) > MAX_FEATURES
            or not all(isinstance(f, str) and f for f in features)):
        raise AnkerModelFileError(f"{name}: config.features must be a non-empty list of "
                                  f"column names (at most {MAX_FEATURES:,})")
    if not isinstance(config.get("allow_protected", False), bool):
        raise AnkerModelFileError(f"{name}: config.allow_protected must be true or false")
    n_fit = data.get("n_fit")
    if n_fit is not None and (isinstance(n_fit, bool) or not isinstance(n_fit, int) or n_fit < 0):
        raise AnkerModelFileError(f"{name}: n_fit must be a whole number of rows, got {n_fit!r}")
    levels = design.get("levels", {})
    if not isinstance(levels, dict) or not all(
            isinstance(lv, list) and lv and all(isinstance(v, str) for v in lv)
            for lv in levels.values()):
        raise AnkerModelFileError(f"{name}: design.levels must map features to non-empty "
                                  "lists of level names")
    for key in _FINITE_STATE.get(name, ()):
        if key not in state:
            raise AnkerModelFileError(f"{name}: state.{key} is missing")
        _finite_numbers(state[key], f"{name}: state.{key}")
    for key, value in state.items():
        if "cov" in key:  # a not-estimable variance is stored as null
            _finite_numbers(value, f"{name}: state.{key}", allow_null=True)
    if name == "BenefitDurationTest" and config.get("model", "cox") == "cox":
        for key in ("baseline_times", "baseline_cumhaz"):
            value = state.get(key)
            if not isinstance(value, list) or not value:
                raise AnkerModelFileError(f"{name}: state.{key} must be a non-empty list (the "
                                          "Cox baseline hazard)")
            _finite_numbers(value, f"{name}: state.{key}")
            if min(value) < 0:
                raise AnkerModelFileError(f"{name}: state.{key} has negative values")
    ranges = data.get("ranges", {})
    if not isinstance(ranges, dict) or not set(ranges) <= set(features):
        raise AnkerModelFileError(f"{name}: ranges must map feature names to [low, high]")
    for f, r in ranges.items():
        _finite_numbers(r, f"{name}: ranges.{f}")
        if not (isinstance(r, list) and len(r) == 2 and r[0] <= r[1]):
            raise AnkerModelFileError(f"{name}: ranges.{f} must be [low, high] with low <= high")
    return protected_policy(name, config)


def protected_policy(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with anker's protected attributes added back to the file's list.

    A file can protect more attributes, never fewer; a feature that is
    protected must have been opted in (``allow_protected``) when fitted.

    Examples
    --------
    >>> cfg = {"features": ["age", "sex"], "allow_protected": False, "protected": []}
    >>> protected_policy("ComplianceTest", cfg)
    Traceback (most recent call last):
    ...
    anker.errors.AnkerModelFileError: ComplianceTest: the file uses protected attribute(s) ['sex'] as predictors without allow_protected; anker refuses such a model whatever protected list the file holds
    """
    listed = config.get("protected", [])
    if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
        raise AnkerModelFileError(f"{name}: config.protected must be a list of column names")
    protected = list(dict.fromkeys(list(PROTECTED) + listed))
    used = [f for f in config["features"] if f in protected]
    if used and not config.get("allow_protected", False):
        raise AnkerModelFileError(f"{name}: the file uses protected attribute(s) {used} as "
                                  "predictors without allow_protected; anker refuses such a "
                                  "model whatever protected list the file holds")
    return {**config, "protected": protected}


def check_model_config(config: Any) -> dict[str, Any]:
    """The AnkerModel's own settings: a WWB threshold in (0, 1) and a bounded top_factors.

    Examples
    --------
    >>> check_model_config({"wwb_threshold": 0.5, "top_factors": 1e9})
    Traceback (most recent call last):
    ...
    anker.errors.AnkerModelFileError: config.top_factors must be a whole number from 1 to 20, got 1000000000.0
    """
    if not isinstance(config, dict):
        raise AnkerModelFileError("config must be an object")
    threshold, top = config.get("wwb_threshold"), config.get("top_factors")
    if (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
            or not 0 < threshold < 1):
        raise AnkerModelFileError(f"config.wwb_threshold must lie strictly between 0 and 1, "
                                  f"got {threshold!r}")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP_FACTORS:
        raise AnkerModelFileError(f"config.top_factors must be a whole number from 1 to "
                                  f"{MAX_TOP_FACTORS}, got {top!r}")
    return config
