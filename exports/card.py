"""The dataset card (README.md beside the data): what it is, how it was made, its schema, how to load it.

Its YAML header is the Hugging Face card metadata, with `configs` naming the data files, so
`load_dataset("<folder>")` finds the splits. The card holds no time stamp and no salt: the same export gives the
same card, and the pseudonyms cannot be recomputed from it.
"""

import json
from pathlib import Path

from annotate.protocols import Protocol
from annotate.selectors.snapshot import campaign_names
from exports.formats import Format
from exports.spec import AGGREGATIONS, FORMATS, PAIR_FORMATS, PAIR_STRATEGIES

SCALES = {
    Protocol.PAIRWISE: "pairwise: response A scores 0 and B the strength (-3..3, negative = A better), or -1/0/+1 "
                       "when no strength was asked",
    Protocol.RANKING: "ranking: minus the rank group (best 0, then -1, -2...)",
    Protocol.RATING: "rating: the 1-7 Likert rating",
    Protocol.ATTRIBUTES: "attributes: the weighted sum of HelpSteer2 attributes (weights below)",
}
TRAINER_CONFIGS = {"DPOTrainer": "DPOConfig", "RewardTrainer": "RewardConfig", "KTOTrainer": "KTOConfig"}


def _yaml(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON scalar is a YAML scalar


def _load_snippet(spec: dict, files: list[dict], trainer: str) -> str:
    if spec["filetype"] == "hf":
        load = 'from datasets import load_from_disk\n\ndataset = load_from_disk("path/to/this/folder")'
    else:
        builder = "parquet" if spec["filetype"] == "parquet" else "json"
        data_files = {Path(entry["path"]).name.split(".")[0]: entry["path"] for entry in files}
        load = (f'from datasets import load_dataset\n\ndataset = load_dataset("{builder}", data_files={data_files!r})\n'
                '# or, with this card beside the files: load_dataset("path/to/this/folder")')
    if trainer:
        load += (f"\n\nfrom trl import {TRAINER_CONFIGS[trainer]}, {trainer}\n\n"
                 f'trainer = {trainer}(model=model, args={TRAINER_CONFIGS[trainer]}(output_dir="out"), '
                 'train_dataset=dataset["train"], processing_class=tokenizer)')
    return load


def _how_made(spec: dict, snapshot_id: int, stats) -> list[str]:
    lines = [f"- **Snapshot**: the judgments of the campaigns with an id up to {snapshot_id}; an export of the same "
             "spec over the same snapshot gives byte-identical files."]
    if spec["format"] == "raw":
        lines.append("- **Rows**: every judgment that passes the filters, in Concord's judgment exchange format "
                     "(`manage.py import_judgments` reads it back).")
    else:
        lines.append("- **Scores**: " + "; ".join(SCALES[p] for p in spec["protocols"]) + ".")
        if Protocol.ATTRIBUTES in spec["protocols"]:
            lines.append(f"- **Attribute weights**: {_yaml(spec['score_weights'])}.")
        lines.append(f"- **Aggregation**: {spec['aggregate']}: {AGGREGATIONS[spec['aggregate']]}.")
        if spec["format"] in PAIR_FORMATS:
            gap = f"above 0 and of at least {spec['min_margin']:g}" if spec["min_margin"] else "above 0"
            lines.append(f"- **Pairs**: {spec['pairs']}: {PAIR_STRATEGIES[spec['pairs']]}. Tied responses never "
                         f"make a pair: a pair needs a score gap {gap}.")
    filters = [f"protocols {', '.join(spec['protocols'])}"]
    if not spec["include_gold"]:
        filters.append("gold (quality-control) items left out")
    filters.append("AI judges' judgments included" if spec["include_ai_judges"] else "AI judges' judgments left out")
    if spec["exclude_gold_failures"]:
        filters.append(f"annotators failing gold items left out ({stats.gold_failing_annotators})")
    if spec["min_agreement"] is not None:
        filters.append(f"items with agreement under {spec['min_agreement']:g} (or one judgment) left out "
                       f"({stats.dropped['min_agreement']})")
    if spec["max_spread"] is not None:
        filters.append(f"items whose score spread exceeds {spec['max_spread']:g} left out "
                       f"({stats.dropped['max_spread']})")
    if spec["drop_ties"]:
        filters.append("judgments and lists that prefer nothing left out")
    if spec["models"]:
        filters.append(f"responses of the models {', '.join(spec['models'])} only")
    if spec["since"] or spec["until"]:
        filters.append(f"judged from {spec['since'] or 'the start'} until {spec['until'] or 'the snapshot'}")
    lines.append("- **Filters**: " + "; ".join(filters) + ".")
    lines.append(f"- **Split**: by a hash of the prompt text (seed {_yaml(spec['split_seed'])}), about "
                 f"{spec['test_size']:.0%} of prompts in test; no prompt is in both splits.")
    lines.append("- **Annotators**: pseudonyms (HMAC keyed by the server's secret and a salt of this export); no "
                 "username, e-mail or other identity is in the files. Written rationales are "
                 + ("included." if spec["include_rationale"] else "left out."))
    return lines


def card_write(path: Path, *, spec: dict, layout: Format | None, stats, files: list[dict], content_hash: str,
               snapshot_id: int) -> None:
    campaigns = campaign_names(campaign_ids=spec["campaigns"])
    name = spec["name"] or f"concord-{spec['format']}-" + "-".join(str(pk) for pk, _ in campaigns)
    header = ["---", f"license: {_yaml(spec['license'])}", f"pretty_name: {_yaml(name)}",
              "tags:", "- preference", "- human-feedback", f"- {spec['format']}"]
    if spec["filetype"] != "hf":
        header += ["configs:", "- config_name: default", "  data_files:"]
        for entry in files:
            header += [f"  - split: {Path(entry['path']).name.split('.')[0]}", f"    path: {_yaml(entry['path'])}"]
    header.append("---")

    splits = sorted(stats.rows)
    body = [
        f"# {name}", "",
        f"{layout.description if layout else FORMATS['raw'].capitalize() + '.'} Made with Concord from the campaign(s) "
        + ", ".join(f"{title} (id {pk})" for pk, title in campaigns) + ".", "",
        "## Contents", "",
        "| split | rows | prompts |", "|---|---|---|",
        *[f"| {split} | {stats.rows[split]} | {len(stats.prompts[split])} |" for split in splits], "",
        f"- Judgments: {stats.judgments_selected} selected by the filters, {stats.judgments_used} behind the rows, "
        f"from {len(stats.annotators)} annotators.",
    ]
    if spec["format"] != "raw":
        body += [
            f"- Items: {stats.items_exported} give rows, of {stats.items_judged} judged; left out for low agreement "
            f"{stats.dropped['min_agreement']}, for spread {stats.dropped['max_spread']}, for giving no row (ties, "
            f"models filtered out) {stats.dropped['no_rows']}.",
            f"- Agreement: mean item agreement {stats.mean_agreement if stats.mean_agreement is not None else 'n/a'} "
            f"over {stats.agreement_items} items with two or more judgments; {stats.unanimous_items} unanimous.",
        ]
    body += ["", "## How it was made", "", *_how_made(spec, snapshot_id, stats), ""]
    if layout:
        body += ["## Schema", "", "| column | type | meaning |", "|---|---|---|",
                 *[f"| `{column.name}` | `{column.type}` | {column.description} |" for column in layout.columns()],
                 ""]
    body += ["## Load it", "", "```python", _load_snippet(spec, files, layout.trainer if layout else ""), "```", "",
             "## Integrity", "", f"Content hash (SHA-256 over the data files' paths and hashes): `{content_hash}`", "",
             "| file | bytes | sha256 |", "|---|---|---|",
             *[f"| {entry['path']} | {entry['bytes']} | `{entry['sha256']}` |" for entry in files], "",
             "## Spec", "", "```json", json.dumps({k: v for k, v in spec.items() if k != "salt"}, indent=2,
                                                  ensure_ascii=False), "```", "",
             "## Licence", "", f"{spec['license']}", ""]
    path.write_text("\n".join(header + [""] + body), encoding="utf-8")
