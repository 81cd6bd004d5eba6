"""The real MiniLM from the wheel and the saved stage-1 model, loaded once per session."""

import pytest

from feedback.signals import stage1


@pytest.fixture(scope="session")
def embedder():
    return stage1.Embedder()


@pytest.fixture(scope="session")
def model():
    return stage1.Stage1Model.load()


def turn(*contents: str) -> list[dict]:
    """Messages from alternating user/assistant contents, starting with the user and ending with a user turn."""
    return [{"role": ("user", "assistant")[i % 2], "content": c} for i, c in enumerate(contents)]
