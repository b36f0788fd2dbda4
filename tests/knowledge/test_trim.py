"""Passages trimmed to the sentences that matter, on the real articles and the real embedder."""

from __future__ import annotations

from knowledge.trim import LIST_ITEM, PassageTrimmer, blocks_of, units_of


def test_the_sentence_that_answers_is_kept_and_a_list_comes_whole(retriever):
    question = "what's the email address for complaints"
    passages = retriever.relevant(question)
    trimmed = PassageTrimmer(retriever.embedder, keep=3).trim(question, passages)
    kept = [unit for passage in trimmed for unit in units_of(passage)[1]]
    assert any("complaints@brightwave.example" in unit for unit in kept)
    assert sum(len(units_of(p)[1]) for p in passages) > len(kept) >= 3
    # Every passage keeps its heading, and a list comes whole, with the line that introduces it.
    whole = {p.chunk_id: units_of(p) for p in passages}
    for passage in trimmed:
        heading, units = units_of(passage)
        assert heading == whole[passage.chunk_id][0]
        original = whole[passage.chunk_id][1]
        blocks = blocks_of(original)
        for unit in units:
            block = blocks[original.index(unit)]
            assert all(u in units for u, b in zip(original, blocks) if b == block), (unit, units)
    assert any(LIST_ITEM.match(unit) for unit in kept)  # the question's answer sits in a list
    assert trimmed[0].chunk_id == passages[0].chunk_id  # the best passage always stays


def test_nothing_is_trimmed_when_it_is_switched_off_or_already_short(retriever):
    question = "how do I check my voicemail"
    passages = retriever.relevant(question)
    assert PassageTrimmer(retriever.embedder, keep=0).trim(question, passages) == passages
    assert PassageTrimmer(retriever.embedder, keep=10_000).trim(question, passages) == passages
