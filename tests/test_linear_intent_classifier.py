"""The intent classifier component (bot/nlu/linear_intent_classifier.py) with Rasa's real model storage."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.linear_intent_classifier import LinearIntentClassifier
from ka2.text import normalise

EXAMPLES = {
    "ask_funding": [
        "combien d'argent pour un projet",
        "quel est le montant de la subvention",
        "le budget c'est combien",
        "quel financement pour un partenariat",
        "combien on reçoit",
    ],
    "ask_deadline": [
        "quelle est la date limite",
        "jusqu'à quand peut-on déposer",
        "c'est quand l'échéance",
        "quand faut-il envoyer le dossier",
        "date de dépôt des candidatures",
    ],
    "greet": ["bonjour", "salut", "bonsoir", "coucou", "hello"],
}


def training_data() -> TrainingData:
    return TrainingData([Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts])


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="intent_classifier")


def classify(component: LinearIntentClassifier, text: str) -> Message:
    message = Message(data={"text": text})
    component.process([message])
    return message


def test_normalise_folds_case_accents_and_apostrophes():
    assert normalise("Priorités À L’ÉCOLE") == "priorites a l'ecole"


def test_trained_persisted_and_loaded_model_classifies_unseen_spellings(storage):
    resource = Resource("intent_classifier")
    trained = LinearIntentClassifier.create({}, storage, resource, context())
    trained.train(training_data())
    loaded = LinearIntentClassifier.load({}, storage, resource, context())

    # Unseen wording, no accents, a typo: word and character n-grams still find the intent.
    for text, intent in (
        ("c koi le montant de la subvension", "ask_funding"),
        ("DATE LIMITE ???", "ask_deadline"),
        ("Bonjour à vous", "greet"),
    ):
        message = classify(loaded, text)
        assert message.get("intent")["name"] == intent, text
        ranking = message.get("intent_ranking")
        assert [r["name"] for r in ranking][0] == intent
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6  # all three intents, probabilities
        assert ranking == sorted(ranking, key=lambda r: -r["confidence"])
    assert classify(loaded, "la date limite").get("intent") == classify(trained, "la date limite").get("intent")


def test_words_only_variant_has_no_character_features(storage):
    component = LinearIntentClassifier.create({"char_ngrams": None}, storage, Resource("words"), context())
    component.train(training_data())
    union = component.model.steps[0][1]
    assert [t.analyzer for _, t in union.transformer_list] == ["word"]
    assert classify(component, "quelle est la date limite").get("intent")["name"] == "ask_deadline"


def test_untrained_or_missing_model_predicts_no_intent(storage):
    component = LinearIntentClassifier.create({}, storage, Resource("empty"), context())
    component.train(TrainingData([Message(data={"text": "bonjour", "intent": "greet"})]))  # one intent: nothing
    loaded = LinearIntentClassifier.load({}, storage, Resource("empty"), context())
    assert loaded.model is None
    assert classify(loaded, "bonjour").get("intent") is None
