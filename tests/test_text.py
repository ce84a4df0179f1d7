"""Splitting at top-level separators."""

from hypothesis import given
from hypothesis import strategies as st

from valueint.text import top_level_split


def test_brackets_and_quotes_protect_separators():
    assert top_level_split("0.25,[1,2],'a,b',f(x, y)", ",") == ["0.25", "[1,2]", "'a,b'", "f(x, y)"]
    assert top_level_split("a:b[T.x:y]", ":") == ["a", "b[T.x:y]"]
    assert top_level_split("", ",") == [""]


@given(st.lists(st.text(alphabet="abc01 ", min_size=1), min_size=1, max_size=6))
def test_plain_parts_come_back(parts):
    assert top_level_split(",".join(parts), ",") == parts
