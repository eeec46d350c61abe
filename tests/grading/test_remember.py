"""cnnkit.grading.remember: results of short texts remembered, long ones worked out every time, within a bound."""

from cnnkit.grading import remember


def test_short_texts_are_remembered_long_ones_are_not_and_entries_are_bounded():
    calls = []

    @remember.remembered
    def measured(text, more=()):
        calls.append(text)
        return len(text) + len(more)

    short, long = "x" * 100, "y" * (remember.MAX_CHARS + 1)
    assert [measured(short), measured(short)] == [100, 100] and calls == [short]
    assert [measured(long), measured(long)] == [len(long)] * 2 and calls == [short, long, long]
    split = ("z" * (remember.MAX_CHARS // 2 + 1),) * 2  # nested text counts too
    measured("a", split), measured("a", split)
    assert calls[-2:] == ["a", "a"]
    for number in range(remember.MAX_ENTRIES + 10):
        measured(str(number))
    assert measured.cache_info().currsize == remember.MAX_ENTRIES
    remember.forget_all()
    assert measured.cache_info().currsize == 0
