"""Every format, in every file type, loads with `datasets` and passes TRL's own dataset checks."""

import json

import datasets
import orjson
import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer
from trl.data_utils import apply_chat_template, is_conversational, maybe_apply_chat_template

from exports.spec import FILETYPES


def load(export, hf_cache) -> datasets.DatasetDict:
    """The export as a user loads it: by file type, with the builder `datasets` has for it."""
    folder = export.directory
    if export.spec["filetype"] == "hf":
        return datasets.load_from_disk(str(folder))
    builder = "parquet" if export.spec["filetype"] == "parquet" else "json"
    data_files = {entry["path"].split(".")[0]: str(folder / entry["path"]) for entry in export.files
                  if entry["path"] != "README.md"}
    return datasets.load_dataset(builder, data_files=data_files, cache_dir=hf_cache)


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.mark.parametrize("filetype", FILETYPES)
def test_dpo_pairs_load_in_every_file_type_and_are_conversational_for_trl(pairwise_campaign, run_export, filetype,
                                                                          tokenizer, hf_cache):
    export = run_export(pairwise_campaign, format="dpo", filetype=filetype, test_size=0.0)

    assert export.status == "done", export.error
    train = load(export, hf_cache)["train"]
    assert len(train) == export.rows == 11  # 12 judgments, one of them a tie
    row = train[0]
    assert is_conversational(row)
    assert row["prompt"] == [{"role": "user", "content": "Question 0?"}]
    assert row["chosen"] == [{"role": "assistant", "content": "Answer 0 to 0."}]
    assert row["rejected"] == [{"role": "assistant", "content": "Answer 1 to 0."}]
    templated = apply_chat_template(row, tokenizer)
    assert templated["prompt"].endswith("<|im_start|>assistant\n")
    assert templated["chosen"] == "Answer 0 to 0.<|im_end|>\n"


def test_standard_style_rows_are_plain_strings_that_trl_leaves_as_they_are(pairwise_campaign, run_export, tokenizer,
                                                                           hf_cache):
    export = run_export(pairwise_campaign, format="dpo", style="standard", filetype="parquet", test_size=0.0)

    row = load(export, hf_cache)["train"][0]
    assert (row["prompt"], row["chosen"], row["rejected"]) == ("Question 0?", "Answer 0 to 0.", "Answer 1 to 0.")
    assert not is_conversational(row)
    assert maybe_apply_chat_template(row, tokenizer)["chosen"] == "Answer 0 to 0."


def test_reward_rows_carry_the_strength_as_margin(pairwise_campaign, run_export, hf_cache):
    export = run_export(pairwise_campaign, format="reward", filetype="jsonl", test_size=0.0)

    train = load(export, hf_cache)["train"]
    margins = sorted({(row["chosen_id"][-2:], row["margin"]) for row in train})
    assert margins == [("r0", 2.0), ("r0", 3.0), ("r1", 1.0)]


def test_kto_rows_are_unpaired_with_a_label_for_each_side(pairwise_campaign, run_export, tokenizer, hf_cache):
    export = run_export(pairwise_campaign, format="kto", filetype="hf", test_size=0.0)

    train = load(export, hf_cache)["train"]
    assert len(train) == 22 and sum(train["label"]) == 11
    row = train[0]
    assert is_conversational(row) and set(apply_chat_template(row, tokenizer)) == {"prompt", "completion", "label"}


def test_rankings_become_pairs_or_stay_lists(ranking_campaign, run_export, tokenizer, hf_cache):
    pairs = run_export(ranking_campaign, format="dpo", pairs="all", filetype="parquet", test_size=0.0)
    lists = run_export(ranking_campaign, format="listwise", filetype="parquet", test_size=0.0)

    assert pairs.rows == 3 * (3 + 3 + 2)  # anna and otto give 3 pairs each, zoe's tie leaves 2
    listwise = load(lists, hf_cache)["train"]
    zoe_row = next(row for row in listwise if row["ranks"] == [1, 2, 2])
    assert zoe_row["scores"] == [0.0, -1.0, -1.0]
    assert zoe_row["completions"][0] == [{"role": "assistant", "content": zoe_row["completions"][0][0]["content"]}]
    assert is_conversational(zoe_row) and apply_chat_template({"prompt": zoe_row["prompt"]}, tokenizer)["prompt"]


def test_ratings_become_pairs_by_score_difference_or_stay_regression_rows(rating_campaign, run_export, hf_cache):
    pairs = run_export(rating_campaign, format="reward", pairs="best_vs_worst", min_margin=2, filetype="jsonl",
                       test_size=0.0)
    rows = run_export(rating_campaign, format="attributes", filetype="parquet", test_size=0.0)

    margins = sorted(row["margin"] for row in load(pairs, hf_cache)["train"])
    assert margins == [4.0] * 3 + [5.0] * 3 + [6.0] * 3
    regression = load(rows, hf_cache)["train"]
    assert len(regression) == 27 and set(regression.column_names) >= {"prompt", "completion", "rating"}


def test_attributes_make_helpsteer2_rows_with_the_mean_of_the_three_most_agreeing(attributes_campaign, manager, zoe,
                                                                                 run_export, tokenizer, hf_cache):
    export = run_export(attributes_campaign, format="attributes", aggregate="mean_top3", filetype="jsonl.gz",
                        test_size=0.0)

    train = load(export, hf_cache)["train"]
    assert train.column_names[:8] == ["prompt", "completion", "helpfulness", "correctness", "coherence",
                                      "complexity", "verbosity", "unsafe"]
    first = train[0]
    assert first["helpfulness"] == round((4 + 3 + 0) / 3, 4) and first["unsafe"] == round(1 / 3, 4)
    assert is_conversational(first) and set(apply_chat_template(first, tokenizer)) >= {"prompt", "completion"}


def test_openai_rows_hold_exactly_the_preference_fine_tuning_keys(pairwise_campaign, run_export):
    export = run_export(pairwise_campaign, format="openai", test_size=0.0)

    lines = (export.directory / "train.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    assert list(record) == ["input", "preferred_output", "non_preferred_output"]
    assert record["input"] == {"messages": [{"role": "user", "content": "Question 0?"}], "tools": [],
                               "parallel_tool_calls": True}
    assert record["preferred_output"] == [{"role": "assistant", "content": "Answer 0 to 0."}]


@pytest.mark.parametrize("form", [{"format": "dpo", "include_rationale": True}, {"format": "reward"},
                                  {"format": "kto", "style": "standard"}, {"format": "listwise"}])
def test_jsonl_lines_are_the_parquet_rows_written_compactly_in_column_order(pairwise_campaign, ranking_campaign,
                                                                            generated_candidate, run_export, form):
    campaign = ranking_campaign if form["format"] == "listwise" else pairwise_campaign
    jsonl = run_export(campaign, filetype="jsonl", test_size=0.0, salt="one salt", **form)
    parquet = run_export(campaign, filetype="parquet", test_size=0.0, salt="one salt", **form)

    rows = pq.read_table(parquet.directory / "train.parquet").to_pylist()
    assert rows
    if campaign == pairwise_campaign:  # a JSON text column with something in it (quotes to escape)
        assert any(value for row in rows for key, value in row.items() if key.endswith("_generation"))
    assert (jsonl.directory / "train.jsonl").read_bytes() == b"".join(
        orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in rows)


def test_raw_exports_the_exchange_format_with_pseudonyms_and_imports_back(pairwise_campaign, run_export, manager,
                                                                          hf_cache):
    from annotate.services.exchange import judgments_import
    from tests.factories import CampaignFactory

    export = run_export(pairwise_campaign, format="raw", test_size=0.0)

    lines = (export.directory / "train.jsonl").read_text().splitlines()
    assert len(lines) == 12
    assert all(json.loads(line)["annotator"].startswith("annotator-") for line in lines)
    assert "rationale" not in json.loads(lines[0])
    copy = CampaignFactory(name="Pairs, reimported", created_by=manager)
    assert judgments_import(campaign=copy, lines=lines)["judgments"] == 12
    assert len(load(export, hf_cache)["train"]) == 12


@pytest.mark.parametrize("filetype", ["jsonl", "parquet"])
def test_the_card_names_the_splits_so_the_folder_alone_loads(pairwise_campaign, run_export, filetype, hf_cache):
    export = run_export(pairwise_campaign, format="dpo", filetype=filetype, test_size=0.5)

    loaded = datasets.load_dataset(str(export.directory), cache_dir=hf_cache)
    assert sum(len(split) for split in loaded.values()) == export.rows


def test_the_card_says_what_the_dataset_is_how_it_was_made_and_how_to_load_it(pairwise_campaign, run_export,
                                                                              generated_candidate):
    export = run_export(pairwise_campaign, format="reward", aggregate="majority", min_agreement=0.5,
                        license="cc-by-4.0", name="helpful-pairs", test_size=0.0)

    card = (export.directory / "README.md").read_text()
    assert card.startswith('---\nlicense: "cc-by-4.0"\npretty_name: "helpful-pairs"\n')
    for expected in ("| train | 4 | 4 |", "Pairs (id ", "majority", "agreement under 0.5", "mean item agreement 0.6667",
                     "| `margin` | `double` |", "RewardTrainer", export.content_hash, "## Licence\n\ncc-by-4.0"):
        assert expected in card
    assert '"salt"' not in card
    row = json.loads((export.directory / "train.jsonl").read_text().splitlines()[0])
    assert json.loads(row["chosen_generation"]) == {"endpoint": "tiny", "params": {"max_new_tokens": 8,
                                                                                   "temperature": 0.8}, "seed": 1234}


def test_from_the_demo_campaign_a_manager_exports_dpo_kto_and_reward_datasets_that_trl_takes(db, tmp_path, tokenizer,
                                                                                           hf_cache):
    from accounts.models import User
    from annotate.models import Campaign
    from annotate.services.demo import DEMO_CAMPAIGN, demo_load
    from exports.services import export_create, export_run
    from tests.exports.conftest import judge_all

    demo_load(credentials_file=tmp_path / "credentials.json")
    campaign = Campaign.objects.get(name=DEMO_CAMPAIGN)
    for annotator in User.objects.filter(username__startswith="demo-annotator-"):
        judge_all(campaign, annotator, lambda ids, who: {"choice": "a", "strength": -2, "rationale": "Correct."})
    manager = User.objects.get(username="demo-manager")

    for form, filetype in (("dpo", "parquet"), ("kto", "jsonl"), ("reward", "hf")):
        export = export_create(spec={"campaigns": [campaign.pk], "format": form, "filetype": filetype}, by=manager)
        export_run(export_id=export.pk)
        export.refresh_from_db()
        assert export.status == "done" and (export.directory / "README.md").exists()
        rows = [row for split in load(export, hf_cache).values() for row in split]
        assert len(rows) == export.rows == (20 if form == "kto" else 10)
        assert all(is_conversational(row) for row in rows)
        apply_chat_template(rows[0], tokenizer)
