"""Rasa's whitespace tokenizer over the text with spoken numbers written as digits, so that
"my pin is two four six eight" from the phone line is understood as "my pin is 2468" is.

The rewriting is hotline.spoken's, the same the form validators use; Rasa finds the project
root on PYTHONPATH (the Makefile and hotline.stack set it).
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from hotline.spoken import normalize


def _rewrite(message: Message) -> None:
    text = message.get(TEXT)
    # An annotated training example keeps its text: its entity offsets point into it.
    if text and not message.get(ENTITIES):
        message.set(TEXT, normalize(text))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class SpokenNumbersTokenizer(WhitespaceTokenizer):
    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            _rewrite(example)
        return super().process_training_data(training_data)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            _rewrite(message)
        return super().process(messages)
