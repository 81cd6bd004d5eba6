"""The transformers backend on the tiny random Llama (fast) and, marked slow_model, on the real SmolLM2."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, LlamaForCausalLM

from modelhost.backends import BackendError, ModelLoadError, Output, Request, SamplingParams
from modelhost.backends.transformers_backend import TransformersBackend, convert_gguf_to_cache, default_model_path

GREEDY = SamplingParams(max_new_tokens=12, temperature=0.0)
PROMPTS = [
    "Compare the two answers.",
    "Which reply is better, and why?",
    "Rank these replies from best to worst, then explain the order you chose in one sentence.",
    "Rate the answer.",
    "What is the capital of France?",
]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def load(path: Path, **kwargs: object) -> TransformersBackend:
    # float32 on CPU: the comparisons below between batchings and formats are exact in float32.
    options: dict = {"device": "cpu", "dtype": "float32", "allowed_dirs": [path.parent]} | kwargs
    return TransformersBackend(path, **options)


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> TransformersBackend:
    return load(tiny_model_dir)


def texts(outputs: list[Output]) -> list[str]:
    return [output.text for output in outputs]


def test_generate_returns_n_samples_per_request_in_order(backend: TransformersBackend) -> None:
    params = SamplingParams(max_new_tokens=8, temperature=1.0, seed=7)
    requests = [Request("a", user(PROMPTS[0]), n=3, params=params), Request("b", user(PROMPTS[2]), n=2, params=params)]
    seen: list[Output] = []

    outputs = backend.generate(requests, on_output=seen.append)

    assert [(o.key, o.sample_index) for o in outputs] == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
    assert sorted(seen, key=lambda o: (o.key, o.sample_index)) == outputs
    prompt_a = backend.tokenizer.apply_chat_template(user(PROMPTS[0]), tokenize=False, add_generation_prompt=True)
    assert outputs[0].prompt_tokens == len(backend.tokenizer(prompt_a, add_special_tokens=False)["input_ids"])
    for output in outputs:
        assert 1 <= output.completion_tokens <= 8
        assert output.finish_reason == "length" or output.completion_tokens < 8
        assert output.truncated_prompt_tokens == 0 and output.latency_s > 0
    assert [o.seed for o in outputs] == [7, 8, 9, 7, 8]  # request seed + sample index


def test_seeded_samples_are_reproducible_whatever_the_batch(backend: TransformersBackend) -> None:
    params = SamplingParams(max_new_tokens=10, temperature=1.0)
    request = Request("a", user(PROMPTS[1]), n=4, params=params, seed=123)

    first = backend.generate([request])
    again = backend.generate([Request("x", user(PROMPTS[3]), n=2, params=params, seed=5), request])[2:]
    alone = backend.generate([Request("a", user(PROMPTS[1]), params=params, seed=first[2].seed)])

    assert texts(again) == texts(first)
    assert alone[0].text == first[2].text  # one sample is reproduced from its reported seed alone
    assert len(set(texts(first))) > 1  # the n samples differ from each other
    unseeded = backend.generate([Request("a", user(PROMPTS[1]), params=params)])[0]
    assert unseeded.seed is not None
    reproduced = backend.generate([Request("a", user(PROMPTS[1]), params=params, seed=unseeded.seed)])[0]
    assert reproduced.text == unseeded.text


def test_token_budget_batches_give_the_same_greedy_outputs_as_batches_of_one(tiny_model_dir: Path) -> None:
    requests = [Request(str(i), user(prompt), n=2, params=GREEDY) for i, prompt in enumerate(PROMPTS)]
    one_by_one = load(tiny_model_dir, token_budget=1)  # every row runs alone
    together = load(tiny_model_dir, token_budget=4096)  # all rows in one batch

    alone = one_by_one.generate(requests)
    batched = together.generate(requests)

    assert texts(batched) == texts(alone)
    assert [o.completion_tokens for o in batched] == [o.completion_tokens for o in alone]
    # latency_s runs from the start of the batch to the row's end: alone, every row has its own; in one batch, the
    # rows that end at the same step share one.
    assert len({o.latency_s for o in alone}) == len(requests) * 2
    steps = {o.completion_tokens + (o.finish_reason == "stop") for o in batched}  # an end token is a step too
    assert len({o.latency_s for o in batched}) == len(steps) < len(requests) * 2


def test_stop_sequence_trims_the_text_and_reports_stop(backend: TransformersBackend) -> None:
    params = SamplingParams(max_new_tokens=24, temperature=0.0)
    full = backend.generate([Request("a", user(PROMPTS[4]), params=params)])[0]
    assert len(full.text) > 12, full
    stop = full.text[6:9]
    at = full.text.find(stop)

    with_stop = replace(params, stop=("never-generated", stop))
    stopped = backend.generate([Request("a", user(PROMPTS[4]), params=with_stop)])[0]

    assert stopped.text == full.text[:at]
    assert stopped.finish_reason == "stop"
    assert stopped.completion_tokens < full.completion_tokens


def test_truncation_drops_old_turns_then_left_truncates(tiny_model_dir: Path) -> None:
    backend = load(tiny_model_dir, max_context=80)
    system = {"role": "system", "content": "Be brief."}
    history = [
        {"role": "user", "content": "Tell me about rankings and ratings of replies."},
        {"role": "assistant", "content": "A ranking orders replies; a rating scores one reply on a scale."},
        {"role": "user", "content": "And values cards?"},
    ]
    params = SamplingParams(max_new_tokens=16, temperature=0.0)

    dropped = backend.generate([Request("a", [system, *history], params=params)])[0]

    def templated(messages: list[dict[str, str]]) -> int:
        text = backend.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return len(backend.tokenizer(text, add_special_tokens=False)["input_ids"])

    assert templated([system, *history]) + 16 > 80
    assert dropped.prompt_tokens == templated([system, history[-1]])
    assert dropped.truncated_prompt_tokens == templated([system, *history]) - dropped.prompt_tokens
    kept_whole = backend.generate([Request("a", [system, history[-1]], params=params)])[0]
    assert dropped.text == kept_whole.text  # the older turns really were dropped

    long = backend.generate([Request("b", user(" ".join(PROMPTS * 3)), params=params)])[0]
    assert long.prompt_tokens == 80 - 16
    assert long.truncated_prompt_tokens == templated(user(" ".join(PROMPTS * 3))) - (80 - 16)

    with pytest.raises(BackendError, match="no room"):
        backend.generate([Request("c", user("hi"), params=SamplingParams(max_new_tokens=80))])


@pytest.mark.parametrize(
    "params",
    [
        SamplingParams(max_new_tokens=20, temperature=0.0),
        SamplingParams(max_new_tokens=20, temperature=1.0, seed=3),
    ],
)
def test_stream_pieces_join_to_the_generated_text_and_end_with_its_counts(
    backend: TransformersBackend, params: SamplingParams
) -> None:
    expected = backend.generate([Request("a", user(PROMPTS[2]), params=params)])[0]

    *pieces, output = backend.stream(user(PROMPTS[2]), params)

    assert len(pieces) > 1
    assert "".join(pieces) == expected.text == output.text
    assert (output.prompt_tokens, output.completion_tokens, output.finish_reason) == (
        expected.prompt_tokens, expected.completion_tokens, expected.finish_reason)


def test_stream_holds_back_a_stop_string(backend: TransformersBackend) -> None:
    full = backend.generate([Request("a", user(PROMPTS[0]), params=GREEDY)])[0].text
    stop = full[4:7]

    *pieces, _ = backend.stream(user(PROMPTS[0]), SamplingParams(max_new_tokens=12, temperature=0.0, stop=(stop,)))
    streamed = "".join(pieces)

    assert streamed == full[: full.find(stop)]


def test_score_matches_a_manual_computation(backend: TransformersBackend, tiny_model_dir: Path) -> None:
    context = user(PROMPTS[1])
    continuations = ["the better answer is rome.", "paris", "values cards describe what matters to a person"]
    model = LlamaForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = tokenizer(
        tokenizer.apply_chat_template(context, tokenize=False, add_generation_prompt=True), add_special_tokens=False
    )["input_ids"]

    expected = []
    for text in continuations:
        tail = tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([prompt + tail])).logits[0]
        logprobs = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
        expected.append(float(logprobs[torch.arange(len(tail)), torch.tensor(tail)].sum()))

    assert backend.score(context, continuations) == pytest.approx(expected, abs=1e-4)
    small_batches = load(tiny_model_dir, token_budget=1)
    assert small_batches.score(context, continuations) == pytest.approx(expected, abs=1e-4)


def test_score_many_gives_what_score_gives_for_each_context_in_any_batch_size(
    backend: TransformersBackend, tiny_model_dir: Path
) -> None:
    items = [
        (user(PROMPTS[1]), ["the better answer is rome.", "paris", "values cards describe what matters to a person"]),
        (user("hi"), ["hello there", "x"]),
        (user(PROMPTS[0]) + [{"role": "assistant", "content": "a reply"}] + user("and a longer follow-up"), ["ok"]),
        (user("nothing to score"), []),
    ]
    expected = [backend.score(context, continuations) for context, continuations in items]

    assert backend.score_many(items) == [pytest.approx(scores, abs=1e-4) for scores in expected]
    one_row_per_batch = load(tiny_model_dir, token_budget=1)
    assert one_row_per_batch.score_many(items) == [pytest.approx(scores, abs=1e-4) for scores in expected]
    assert backend.score_many([]) == []
    with pytest.raises(BackendError, match="at least one token"):
        backend.score_many([(user("q"), ["a", ""])])


def test_score_many_runs_a_shared_start_once_and_still_gives_what_score_gives(backend: TransformersBackend) -> None:
    system = {"role": "system", "content": "Options: A. yes B. no C. maybe. Answer with a letter."}
    items = [([system, *user(text)], ["A", "B", "C", "maybe not"]) for text in ("is it?", "a longer question, is it?")]
    expected = [backend.score(context, continuations) for context, continuations in items]

    assert backend.score_many(items) == [pytest.approx(scores, abs=1e-4) for scores in expected]


def test_score_many_as_the_user_scores_the_text_of_the_next_user_message(
    backend: TransformersBackend, tiny_model_dir: Path
) -> None:
    context = user(PROMPTS[4]) + [{"role": "assistant", "content": "Paris."}]
    follow_up = "thanks, that is right"
    model = LlamaForCausalLM.from_pretrained(tiny_model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    rendered = tokenizer.apply_chat_template([*context, {"role": "user", "content": follow_up}], tokenize=False)
    prompt = tokenizer(rendered[: rendered.index(follow_up)], add_special_tokens=False)["input_ids"]
    tail = tokenizer(follow_up, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([prompt + tail])).logits[0, len(prompt) - 1 : -1], dim=-1)
    expected = float(logprobs[torch.arange(len(tail)), torch.tensor(tail)].sum())

    assert backend.score_many([(context, [follow_up])], role="user") == [pytest.approx([expected], abs=1e-4)]
    assert backend.score_many([(context, [follow_up])])[0][0] != pytest.approx(expected, abs=1e-4)


def test_refuses_models_outside_the_allowed_dirs(tiny_model_dir: Path, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    with pytest.raises(ModelLoadError, match="outside the allowed"):
        TransformersBackend(tiny_model_dir, allowed_dirs=[allowed])

    (allowed / "link").symlink_to(tiny_model_dir)  # a symlink inside the allow-list leading out of it
    with pytest.raises(ModelLoadError, match="outside the allowed"):
        TransformersBackend(allowed / "link", allowed_dirs=[allowed])

    pickled = allowed / "pickled"
    pickled.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_model_dir / name, pickled / name)
    torch.save({}, pickled / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors"):
        TransformersBackend(pickled, allowed_dirs=[allowed])


def test_gguf_loads_with_the_same_logits_and_converts_to_a_reusable_cache(
    backend: TransformersBackend, tiny_gguf_path: Path, tmp_path: Path
) -> None:
    context = user(PROMPTS[0])
    continuations = ["annotators compare two answers.", "rome"]
    requests = [Request(str(i), user(prompt), params=GREEDY) for i, prompt in enumerate(PROMPTS)]
    expected_scores = backend.score(context, continuations)
    expected_outputs = backend.generate(requests)

    from_gguf = load(tiny_gguf_path.parent, gguf_file=tiny_gguf_path.name)
    assert from_gguf.score(context, continuations) == pytest.approx(expected_scores, abs=1e-5)
    assert texts(from_gguf.generate(requests)) == texts(expected_outputs)

    cache = convert_gguf_to_cache(tiny_gguf_path, tmp_path / "cache" / "tiny")
    assert sorted(os.listdir(tmp_path / "cache")) == ["tiny"]  # no staging dir left behind
    assert "quantization_config" not in json.loads((cache / "config.json").read_text())
    weights = cache / "model.safetensors"
    written = weights.stat().st_mtime_ns
    assert convert_gguf_to_cache(tiny_gguf_path, tmp_path / "cache" / "tiny") == cache
    assert weights.stat().st_mtime_ns == written  # reused, not converted again

    from_cache = load(cache)
    assert from_cache.score(context, continuations) == pytest.approx(expected_scores, abs=1e-5)
    assert [o.prompt_tokens for o in from_cache.generate(requests)] == [o.prompt_tokens for o in expected_outputs]


@pytest.mark.slow_model
def test_smollm2_answers_coherently(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The test settings' data folder keeps the converted model between runs, so the ~20 s conversion is paid once.
    data_dir = os.environ.get("CONCORD_DATA_DIR")
    cache_root = Path(data_dir) / "models" if data_dir else tmp_path_factory.mktemp("models")
    backend = TransformersBackend(default_model_path(cache_root), allowed_dirs=[cache_root])
    question = user("What is the capital of France?")

    answer = backend.generate([Request("q", question, params=SamplingParams(max_new_tokens=32, temperature=0.0))])[0]

    assert "Paris" in answer.text
    assert answer.finish_reason == "stop"  # it ended its turn with the end-of-turn token
    assert (
        backend.score(question, ["The capital of France is Paris."])[0]
        > backend.score(question, ["The capital of France is Berlin."])[0]
    )


def test_an_output_is_handed_over_when_its_row_ends_not_when_its_batch_does(backend: TransformersBackend) -> None:
    events: list[tuple[str, object]] = []
    requests = [Request(key="short", messages=user("Rate the answer."), params=replace(GREEDY, max_new_tokens=2)),
                Request(key="long", messages=user("Rate the answer."), params=replace(GREEDY, max_new_tokens=12))]

    backend.generate(requests, on_output=lambda output: events.append(("output", output.key)),
                     on_step=lambda sampled: events.append(("step", sampled)))

    short, long = events.index(("output", "short")), events.index(("output", "long"))
    assert short < long and any(kind == "step" for kind, _ in events[short:long])  # one batch, two moments
    steps = [sampled for kind, sampled in events if kind == "step"]
    assert steps == sorted(steps) and steps[-1] <= 14
