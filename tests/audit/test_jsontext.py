"""audit.jsontext.dumps: the same JSON value as json.dumps wherever json.dumps gives valid JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.jsontext import dumps


@dataclasses.dataclass
class Point:
    x: int
    y: int


scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses, json.dumps writes them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # lone surrogates too
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_same_value_as_json_dumps(value):
    assert json.loads(dumps(value)) == json.loads(json.dumps(value))


def test_what_orjson_refuses_goes_through_json_dumps():
    assert dumps({"n": 2**70}) == json.dumps({"n": 2**70})
    assert json.loads(dumps({1: "int key"})) == {"1": "int key"}
    assert json.loads(dumps(["\ud800"])) == ["\ud800"]


def test_not_json_is_still_refused():
    import pytest

    for value in (object(), dt.datetime.now(dt.UTC), Point(1, 2)):
        with pytest.raises(TypeError):
            dumps({"x": value})
